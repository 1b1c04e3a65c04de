//! Damage in a Flume channel's files, each applied to a copy of a real Flume's fixture: a put
//! whose CRC32 fails, a torn last record, an unknown op byte, a log file gone. Each is named
//! with its file and offset and counted; nothing altered is ever read as an event, and an
//! adoption stops (or, asked to, skips exactly the damaged events and names them).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "damages copies of Flume's fixtures on the real disk, as a failing disk would"
)]

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use crate::common::config_under;
use crate::flume_fixtures::{copy_fixture, dirs_of, fixtures, truth};
use sluice_core::io::StdFs;
use sluice_flume::adopt::{adopt, AdoptError, AdoptRequest};
use sluice_flume::{split_ptr, FlumeChannel, FlumeError, FlumeKeys};

#[path = "../../../../fuzz/src/flume_log.rs"]
mod flume_log;

/// The first records of a real Flume log (`kill9-midstream`'s `log-1`), to mutate.
fn real_log() -> Vec<u8> {
    let mut b = std::fs::read(fixtures().join("kill9-midstream/data/log-1")).unwrap();
    b.truncate(16 * 1024);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_bytes_as_a_flume_log_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        flume_log::run(&data);
    }

    #[test]
    fn a_mutated_real_flume_log_never_panics(at in 0usize..16 * 1024, byte in any::<u8>(), cut in 0usize..16 * 1024) {
        let mut log = real_log();
        log[at] = byte;
        log.truncate(cut.max(at + 1));
        flume_log::run(&log);
    }
}

/// The queue and, for its `i`th event, the log file and offset of its put record.
fn place(root: &Path, i: usize) -> (std::path::PathBuf, u64) {
    let ch = FlumeChannel::open(&StdFs, &dirs_of(root), &FlumeKeys::new()).unwrap();
    let (id, offset) = split_ptr(ch.queue[i]);
    (root.join(format!("data/log-{id}")), offset)
}

/// Flips a byte `at` bytes into the file.
fn flip(file: &Path, at: u64) {
    let mut b = std::fs::read(file).unwrap();
    b[at as usize] ^= 0x40;
    std::fs::write(file, b).unwrap();
}

#[test]
fn a_put_whose_crc_fails_is_named_and_never_read_as_an_event() {
    let tmp = copy_fixture("clean-stop");
    let (file, offset) = place(tmp.path(), 10);
    // The body's last byte: the put record ends with its CRC field and the empty footer.
    let ch = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap();
    let body_len = ch.read_event(ch.queue[10]).unwrap().body.len() as u64;
    assert!(body_len > 4);
    drop(ch);
    let raw = std::fs::read(&file).unwrap();
    let len = u32::from_be_bytes(
        raw[offset as usize + 1..offset as usize + 5]
            .try_into()
            .unwrap(),
    );
    // In the payload the body precedes the 9-byte checksum field and the 1-byte footer.
    flip(&file, offset + 5 + u64::from(len) - 10 - 2);
    let ch = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap();
    let err = ch.read_event(ch.queue[10]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CRC32"), "{text}");
    assert!(text.contains(&format!("at byte {offset}")), "{text}");
    assert!(text.contains("log-"), "{text}");
    // The adoption stops on it, naming it; with skip_damaged it adopts the rest.
    let keys = FlumeKeys::new();
    let mut req = AdoptRequest {
        flume: dirs_of(tmp.path()),
        keys: &keys,
        target: config_under(&tmp.path().join("new"), 1),
        in_place: false,
        skip_damaged: false,
        now_ms: 1,
        allow_plaintext: false,
    };
    let err = adopt(Arc::new(StdFs), &req).unwrap_err();
    assert!(
        matches!(&err, AdoptError::Damaged { cause } if matches!(cause, FlumeError::Corrupt { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("--skip-damaged"), "{err}");
    req.target = config_under(&tmp.path().join("new2"), 1);
    req.skip_damaged = true;
    let done = adopt(Arc::new(StdFs), &req).unwrap();
    let want = truth(&fixtures().join("clean-stop"));
    assert_eq!(done.events, want.len() as u64 - 1);
    assert_eq!(done.skipped.len(), 1);
    assert!(done.skipped[0].contains("CRC32"), "{:?}", done.skipped);
}

#[test]
fn a_torn_last_record_or_an_unknown_op_byte_stops_that_file_there_and_says_where() {
    // Without a checkpoint every record is replayed, so damage in the logs is met.
    for (what, damage) in [("torn", 0u8), ("op", 1u8)] {
        let tmp = copy_fixture("no-checkpoint");
        let dirs = dirs_of(tmp.path());
        let ch = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap();
        let before = ch.queue.len();
        let (id, offset) = split_ptr(*ch.queue.last().unwrap());
        drop(ch);
        let file = tmp.path().join(format!("data/log-{id}"));
        if damage == 0 {
            let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
            f.set_len(offset + 12).unwrap();
        } else {
            let mut b = std::fs::read(&file).unwrap();
            b[offset as usize] = 0x33;
            std::fs::write(&file, b).unwrap();
        }
        let ch = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap();
        let stopped = &ch.report.counts.stopped;
        assert_eq!(stopped.len(), 1, "{what}: {stopped:?}");
        assert_eq!(stopped[0].0, file, "{what}");
        assert_eq!(stopped[0].1, offset, "{what}");
        if damage == 1 {
            assert!(
                stopped[0].2.contains("unknown op byte 0x33"),
                "{}",
                stopped[0].2
            );
        } else {
            assert!(stopped[0].2.contains("torn"), "{}", stopped[0].2);
        }
        // Nothing from the damaged record on is queued; everything queued reads.
        assert!(ch.queue.len() < before, "{what}");
        for p in &ch.queue {
            ch.read_event(*p).unwrap();
        }
    }
}

#[test]
fn a_log_file_the_queue_needs_is_an_error_naming_it_and_its_events() {
    let tmp = copy_fixture("clean-stop");
    let (file, _) = place(tmp.path(), 0);
    std::fs::remove_file(&file).unwrap();
    let err = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap_err();
    assert!(matches!(err, FlumeError::MissingLog { .. }), "{err}");
    let text = err.to_string();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(text.contains(&name), "{text}");
    assert!(text.contains("queued events"), "{text}");
}

#[test]
fn a_zeroed_checkpoint_is_refused_and_the_logs_alone_give_flumes_full_replay() {
    let tmp = copy_fixture("kill9-midstream");
    let ck = tmp.path().join("checkpoint/checkpoint");
    let len = std::fs::metadata(&ck).unwrap().len() as usize;
    std::fs::write(&ck, vec![0u8; len]).unwrap();
    let ch = FlumeChannel::open(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap();
    match &ch.report.checkpoint {
        sluice_flume::CheckpointUsed::None(why) => {
            assert!(why.contains("version 0"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // Flume's own full replay of this channel (the incomplete-checkpoint variant's truth).
    let want = truth(&fixtures().join("variants/incomplete-checkpoint"));
    let got: Vec<String> = ch
        .queue
        .iter()
        .map(|p| String::from_utf8(ch.read_event(*p).unwrap().body.to_vec()).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(g, (w, _))| g == w));
}
