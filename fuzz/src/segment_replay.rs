//! Fuzz body: segment replay. The input becomes a segment file on a simulated disk (raw, or
//! after a valid header, or after a valid header and a few valid transactions), and the
//! channel is opened on it with each recovery policy, then drained. Opening may refuse with
//! an error; nothing may panic or hang.

use std::path::Path;
use std::sync::Arc;

use sluice_core::internals::wal::record::{encode_commit, encode_put, encode_take};
use sluice_core::internals::wal::segment::{
    encode_header, segment_file_name, SegmentHeader, SEGMENT_HEADER_BYTES,
};
use sluice_core::internals::wal::EventPtr;
use sluice_core::io::{Fs, OpenMode, SimFs};
use sluice_core::RecoveryPolicy;
use sluice_core::{Event, FileChannel, FileChannelConfig};

/// Most takes while draining one opened channel.
const TAKES_MAX: usize = 10_000;

/// A valid start of segment 1: header, two committed puts, a committed take of the first
/// (format version 2: the records' CRCs are salted with the segment id, 1).
pub fn valid_prefix() -> Vec<u8> {
    let header = SegmentHeader::new(1, 0, 0);
    let salt = header.record_salt();
    let mut b = encode_header(&header).to_vec();
    let first = b.len() as u32;
    encode_put(
        &mut b,
        salt,
        1,
        1,
        &Event::new(b"one".to_vec()).header("k", "v"),
    );
    encode_put(&mut b, salt, 1, 2, &Event::new(b"two".to_vec()));
    encode_commit(&mut b, salt, 1, 3, 2, 0);
    let ptr = EventPtr {
        segment: 1,
        offset: first,
    };
    encode_take(&mut b, salt, 2, 4, 1, ptr);
    encode_commit(&mut b, salt, 2, 5, 0, 1);
    b
}

fn segment_bytes(data: &[u8]) -> Vec<u8> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let mut b = match mode % 3 {
        0 => Vec::new(),
        1 => valid_prefix()[..SEGMENT_HEADER_BYTES as usize].to_vec(),
        _ => valid_prefix(),
    };
    b.extend_from_slice(rest);
    b
}

fn open_and_drain(bytes: &[u8], policy: RecoveryPolicy) {
    let sim = SimFs::new(1);
    let root = Path::new("/fuzz");
    let data = root.join("data");
    let mut cfg = FileChannelConfig::with_dirs(root.join("checkpoint"), vec![data.clone()]);
    cfg.recovery_policy = policy;
    cfg.minimum_required_space_bytes = 1 << 20;
    cfg.checkpoint_interval_ms = 3_600_000;
    let written = sim.create_dir_all(&data).and_then(|()| {
        let f = sim.open(&data.join(segment_file_name(1)), OpenMode::CreateNew)?;
        f.write_all_at(bytes, 0)?;
        f.sync_data()?;
        sim.sync_dir(&data)
    });
    if written.is_err() {
        return;
    }
    let Ok(ch) = FileChannel::open_with_fs(cfg, Arc::new(sim)) else {
        return;
    };
    let mut tx = ch.transaction();
    for _ in 0..TAKES_MAX {
        match tx.take() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let _ = tx.commit();
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let bytes = segment_bytes(data);
    for policy in [
        RecoveryPolicy::TolerateTail,
        RecoveryPolicy::Strict,
        RecoveryPolicy::Salvage,
    ] {
        open_and_drain(&bytes, policy);
    }
}
