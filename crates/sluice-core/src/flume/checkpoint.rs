//! Flume's checkpoint directory: the `checkpoint` file (big-endian longs: version 3, the
//! write-order id, the complete marker, and from long 1029 the queue ring of event pointers
//! `fileID << 32 | offset`), `checkpoint.meta` (the queue's size and head), and the in-flight
//! files. Every reason Flume's `EventQueueBackingStoreFactory` has to refuse a checkpoint
//! (`BadCheckpointException`) refuses it here too, with the reason in words: the replay then
//! falls back as Flume's does (the backup checkpoint, or the logs alone).

use std::path::Path;

use prost::Message;

use super::error::{io_err, FlumeError};
use super::inflight::{self, InflightTxn};
use super::proto;
use crate::io::{read_file, Fs};

/// Longs before the queue ring.
const HEADER_LONGS: usize = 1029;
/// Long 0: the format version.
const VERSION_AT: usize = 0;
/// Long 1: the write-order id.
const WRITE_ORDER_AT: usize = 1;
/// Long 4: 0 when the checkpoint is complete.
const MARKER_AT: usize = 4;
/// The one version read.
const VERSION: i64 = 3;

/// A checkpoint Flume would accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlumeCheckpoint {
    /// Its write-order id: replay applies only records after it.
    pub write_order_id: i64,
    /// The queue, head first.
    pub queue: Vec<u64>,
    /// Put transactions it caught open.
    pub inflight_puts: Vec<InflightTxn>,
    /// Take transactions it caught open.
    pub inflight_takes: Vec<InflightTxn>,
}

/// What a checkpoint directory holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointRead {
    /// A whole checkpoint.
    Usable(FlumeCheckpoint),
    /// No checkpoint file (never written, or removed).
    Absent,
    /// One Flume would refuse, and why.
    Refused(String),
}

/// Reads the checkpoint in `dir`; `Err` only when a file exists and cannot be read.
pub fn read(fs: &dyn Fs, dir: &Path) -> Result<CheckpointRead, FlumeError> {
    let file = dir.join("checkpoint");
    let meta = dir.join("checkpoint.meta");
    if !fs.exists(&file) {
        return Ok(if fs.exists(&meta) {
            CheckpointRead::Refused("checkpoint.meta without a checkpoint file".into())
        } else {
            CheckpointRead::Absent
        });
    }
    let bytes = read_file(fs, &file).map_err(io_err("read", &file))?;
    if bytes.is_empty() {
        return Ok(CheckpointRead::Absent);
    }
    if !fs.exists(&meta) {
        return Ok(CheckpointRead::Refused(
            "no checkpoint.meta beside checkpoint".into(),
        ));
    }
    let meta_bytes = read_file(fs, &meta).map_err(io_err("read", &meta))?;
    let mut ins = Vec::with_capacity(2);
    for name in ["inflightputs", "inflighttakes"] {
        let path = dir.join(name);
        let txns = if fs.exists(&path) {
            let b = read_file(fs, &path).map_err(io_err("read", &path))?;
            match inflight::parse(&b) {
                Ok(t) => t,
                Err(why) => return Ok(CheckpointRead::Refused(format!("{name}: {why}"))),
            }
        } else {
            Vec::new()
        };
        ins.push(txns);
    }
    let takes = ins.pop().unwrap_or_default();
    let puts = ins.pop().unwrap_or_default();
    Ok(match parse(&bytes, &meta_bytes) {
        Ok((write_order_id, queue)) => CheckpointRead::Usable(FlumeCheckpoint {
            write_order_id,
            queue,
            inflight_puts: puts,
            inflight_takes: takes,
        }),
        Err(why) => CheckpointRead::Refused(why),
    })
}

/// The write-order id and the queue of a `checkpoint` file and its `checkpoint.meta`.
pub fn parse(file: &[u8], meta: &[u8]) -> Result<(i64, Vec<u64>), String> {
    if file.len() % 8 != 0 || file.len() / 8 <= HEADER_LONGS {
        return Err(format!(
            "checkpoint is {} bytes, not 8 x (1029 + capacity)",
            file.len()
        ));
    }
    let long = |i: usize| {
        let b = &file[i * 8..i * 8 + 8];
        i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    let capacity = file.len() / 8 - HEADER_LONGS;
    if long(VERSION_AT) != VERSION {
        return Err(format!("checkpoint version {}, not 3", long(VERSION_AT)));
    }
    if long(MARKER_AT) != 0 {
        return Err("checkpoint is marked incomplete (the agent stopped while writing it)".into());
    }
    let m = proto::Checkpoint::decode_length_delimited(meta)
        .map_err(|e| format!("checkpoint.meta is not a Checkpoint message: {e}"))?;
    if i64::from(m.version) != VERSION {
        return Err(format!("checkpoint.meta version {}, not 3", m.version));
    }
    if m.write_order_id != long(WRITE_ORDER_AT) {
        return Err(format!(
            "checkpoint.meta's write-order id {} differs from checkpoint's {}",
            m.write_order_id,
            long(WRITE_ORDER_AT)
        ));
    }
    let (Ok(size), Ok(head)) = (usize::try_from(m.queue_size), usize::try_from(m.queue_head))
    else {
        return Err("checkpoint.meta has a negative queue size or head".into());
    };
    if size > capacity || head >= capacity {
        return Err(format!(
            "checkpoint.meta's queue (size {size}, head {head}) does not fit the capacity {capacity}"
        ));
    }
    let queue = (0..size)
        .map(|i| long(HEADER_LONGS + (head + i) % capacity) as u64)
        .collect();
    Ok((m.write_order_id, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(capacity: usize, woid: i64, marker: i64, slots: &[(usize, u64)]) -> Vec<u8> {
        let mut longs = vec![0i64; HEADER_LONGS + capacity];
        longs[VERSION_AT] = VERSION;
        longs[WRITE_ORDER_AT] = woid;
        longs[MARKER_AT] = marker;
        for (i, p) in slots {
            longs[HEADER_LONGS + i] = *p as i64;
        }
        longs.iter().flat_map(|l| l.to_be_bytes()).collect()
    }

    fn meta(woid: i64, size: i32, head: i32) -> Vec<u8> {
        proto::Checkpoint {
            version: 3,
            write_order_id: woid,
            queue_size: size,
            queue_head: head,
            active_logs: vec![],
        }
        .encode_length_delimited_to_vec()
    }

    #[test]
    fn the_queue_is_read_from_its_head_and_wraps_at_the_capacity() {
        let file = image(4, 99, 0, &[(3, 30), (0, 40), (1, 50)]);
        assert_eq!(
            parse(&file, &meta(99, 3, 3)).unwrap(),
            (99, vec![30, 40, 50])
        );
    }

    #[test]
    fn an_incomplete_marker_or_a_meta_of_another_checkpoint_is_refused() {
        let file = image(4, 99, 1, &[]);
        assert!(parse(&file, &meta(99, 0, 0))
            .unwrap_err()
            .contains("incomplete"));
        let file = image(4, 99, 0, &[]);
        assert!(parse(&file, &meta(98, 0, 0))
            .unwrap_err()
            .contains("differs"));
        assert!(parse(&file, &meta(99, 5, 0))
            .unwrap_err()
            .contains("capacity"));
        assert!(parse(&file, b"\x02\x08").is_err());
        assert!(parse(&file[..100], &meta(99, 0, 0)).is_err());
    }
}
