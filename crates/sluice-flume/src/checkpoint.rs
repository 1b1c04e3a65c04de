//! Flume's checkpoint directory: the `checkpoint` file (big-endian longs: version 3, the
//! write-order id, the complete marker, and from long 1029 the queue ring of event pointers
//! `fileID << 32 | offset`), `checkpoint.meta` (the queue's size and head), and the in-flight
//! files. Every reason Flume's `EventQueueBackingStoreFactory` has to refuse a checkpoint
//! (`BadCheckpointException`) refuses it here too, with the reason in words: the replay then
//! falls back as Flume's does (the backup checkpoint, or the logs alone).

use std::path::Path;

use prost::Message;

use super::error::{io_err, present, read_small, FlumeError};
use super::inflight::{self, InflightTxn};
use super::limits::{
    CHECKPOINT_CAPACITY_MAX, INFLIGHT_BYTES_MAX, META_BYTES_MAX, QUEUE_EVENTS_MAX,
};
use super::proto;
use super::refusal::CheckpointRefusal;
use super::window::WINDOW_BYTES;
use crate::invariant::hot_assert;
use sluice_core::io::{Fs, FsFile, Links};

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
    Refused(CheckpointRefusal),
}

/// Reads the checkpoint in `dir`; `Err` only when a file exists and cannot be read, or claims
/// more than it may (`OverLimit`, naming the file and the offset). `queue_max` bounds the
/// queue by what the logs could hold. The `checkpoint` file is read in windows: its header,
/// then only the ring's occupied slots.
pub fn read(fs: &dyn Fs, dir: &Path, queue_max: u64) -> Result<CheckpointRead, FlumeError> {
    let path = dir.join("checkpoint");
    let meta = dir.join("checkpoint.meta");
    if !present(fs, &path) {
        return Ok(if present(fs, &meta) {
            CheckpointRead::Refused(CheckpointRefusal::MetaWithoutCheckpoint)
        } else {
            CheckpointRead::Absent
        });
    }
    let file = fs
        .open_regular(&path, Links::Refuse)
        .map_err(io_err("open", &path))?;
    let len = file.len().map_err(io_err("measure", &path))?;
    if len == 0 {
        return Ok(CheckpointRead::Absent);
    }
    if !present(fs, &meta) {
        return Ok(CheckpointRead::Refused(CheckpointRefusal::NoMeta));
    }
    let meta_bytes = read_small(fs, &meta, META_BYTES_MAX)?;
    let mut ins = Vec::with_capacity(2);
    for name in ["inflightputs", "inflighttakes"] {
        let p = dir.join(name);
        let txns = if present(fs, &p) {
            match inflight::parse(&read_small(fs, &p, INFLIGHT_BYTES_MAX)?) {
                Ok(t) => t,
                Err(damage) => {
                    let why = CheckpointRefusal::Inflight { file: name, damage };
                    return Ok(CheckpointRead::Refused(why));
                }
            }
        } else {
            Vec::new()
        };
        ins.push(txns);
    }
    let takes = ins.pop().unwrap_or_default();
    let puts = ins.pop().unwrap_or_default();
    let head = read_at(file.as_ref(), &path, 0, HEADER_BYTES.min(len))?;
    let ring = match parse_header(&head, len, &meta_bytes) {
        Ok(r) => r,
        Err(why) => return Ok(CheckpointRead::Refused(why)),
    };
    check_ring(&path, &meta, &ring, queue_max)?;
    let queue = read_ring(file.as_ref(), &path, &ring)?;
    Ok(CheckpointRead::Usable(FlumeCheckpoint {
        write_order_id: ring.write_order_id,
        queue,
        inflight_puts: puts,
        inflight_takes: takes,
    }))
}

/// Bytes of the header before the ring.
const HEADER_BYTES: u64 = HEADER_LONGS as u64 * 8;

/// Where a checkpoint's queue lies in its ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    /// The write-order id.
    pub write_order_id: i64,
    /// Slots in the ring.
    pub capacity: u64,
    /// Events queued.
    pub size: u64,
    /// The head's slot.
    pub head: u64,
}

/// The ring's capacity and the queue's size against the stated maxima (Flume's `int`
/// capacity; what the logs could hold), before anything is allocated for the queue.
fn check_ring(path: &Path, meta: &Path, ring: &Ring, queue_max: u64) -> Result<(), FlumeError> {
    if ring.capacity > CHECKPOINT_CAPACITY_MAX {
        return Err(FlumeError::OverLimit {
            path: path.to_path_buf(),
            offset: 0,
            what: "a capacity (slots, from the file's size)",
            claimed: ring.capacity,
            max: CHECKPOINT_CAPACITY_MAX,
        });
    }
    let max = queue_max.min(QUEUE_EVENTS_MAX);
    if ring.size > max {
        return Err(FlumeError::OverLimit {
            path: meta.to_path_buf(),
            offset: 0,
            what: "a queue size in events (bounded by the logs' bytes)",
            claimed: ring.size,
            max,
        });
    }
    Ok(())
}

/// `n` bytes at `at` of the checkpoint file.
fn read_at(file: &dyn FsFile, path: &Path, at: u64, n: u64) -> Result<Vec<u8>, FlumeError> {
    hot_assert!(n <= WINDOW_BYTES as u64, "checkpoint reads are windowed");
    let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0)];
    file.read_exact_at(&mut buf, at)
        .map_err(io_err("read", path))?;
    Ok(buf)
}

/// The queue's pointers, head first, read from the ring in windows of [`WINDOW_BYTES`].
fn read_ring(file: &dyn FsFile, path: &Path, ring: &Ring) -> Result<Vec<u64>, FlumeError> {
    let mut queue = Vec::new();
    let slots_per_window = (WINDOW_BYTES / 8) as u64;
    // At most two runs of slots: from the head to the ring's end, then from its start.
    hot_assert!(
        ring.head < ring.capacity && ring.size <= ring.capacity,
        "a parsed ring's head and size lie within its capacity"
    );
    let first = ring.size.min(ring.capacity - ring.head);
    for (start, count) in [(ring.head, first), (0, ring.size - first)] {
        let mut done = 0;
        while done < count {
            let n = (count - done).min(slots_per_window);
            hot_assert!(
                start + done + n <= ring.capacity,
                "a window of slots lies within the ring"
            );
            let at = HEADER_BYTES + (start + done) * 8;
            let bytes = read_at(file, path, at, n * 8)?;
            queue.extend(
                bytes
                    .chunks_exact(8)
                    .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
            );
            done += n;
        }
    }
    hot_assert!(
        queue.len() as u64 == ring.size,
        "every queued slot read once"
    );
    Ok(queue)
}

/// The ring of a `checkpoint` file `len` bytes long, from its header (the first
/// [`HEADER_BYTES`], fewer when the file is shorter) and its `checkpoint.meta`; `Err` says
/// why Flume would refuse it.
pub fn parse_header(head: &[u8], len: u64, meta: &[u8]) -> Result<Ring, CheckpointRefusal> {
    if len % 8 != 0 || len / 8 <= HEADER_LONGS as u64 {
        return Err(CheckpointRefusal::Size { len });
    }
    let long = |i: usize| {
        let b = &head[i * 8..i * 8 + 8];
        i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    hot_assert!(head.len() as u64 == HEADER_BYTES, "a whole header was read");
    let capacity = len / 8 - HEADER_LONGS as u64;
    if long(VERSION_AT) != VERSION {
        let version = long(VERSION_AT);
        return Err(CheckpointRefusal::Version { version });
    }
    if long(MARKER_AT) != 0 {
        return Err(CheckpointRefusal::Incomplete);
    }
    let m = proto::Checkpoint::decode_length_delimited(meta)
        .map_err(|decode| CheckpointRefusal::MetaUndecodable { decode })?;
    if i64::from(m.version) != VERSION {
        let version = m.version;
        return Err(CheckpointRefusal::MetaVersion { version });
    }
    if m.write_order_id != long(WRITE_ORDER_AT) {
        let (meta, file) = (m.write_order_id, long(WRITE_ORDER_AT));
        return Err(CheckpointRefusal::WriteOrder { meta, file });
    }
    let (Ok(size), Ok(head)) = (u64::try_from(m.queue_size), u64::try_from(m.queue_head)) else {
        return Err(CheckpointRefusal::NegativeQueue);
    };
    if size > capacity || head >= capacity {
        return Err(CheckpointRefusal::QueueOutsideRing {
            size,
            head,
            capacity,
        });
    }
    Ok(Ring {
        write_order_id: m.write_order_id,
        capacity,
        size,
        head,
    })
}

/// The write-order id and the queue of a whole `checkpoint` file and its `checkpoint.meta`
/// (the pure form of [`read`], for the tests).
#[cfg(test)]
pub fn parse(file: &[u8], meta: &[u8]) -> Result<(i64, Vec<u64>), CheckpointRefusal> {
    let head = &file[..file.len().min(HEADER_BYTES as usize)];
    let ring = parse_header(head, file.len() as u64, meta)?;
    let slot = |i: u64| {
        let at = (HEADER_BYTES + i * 8) as usize;
        let b = &file[at..at + 8];
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    let queue = (0..ring.size)
        .map(|i| slot((ring.head + i) % ring.capacity))
        .collect();
    Ok((ring.write_order_id, queue))
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
            .to_string()
            .contains("incomplete"));
        let file = image(4, 99, 0, &[]);
        assert!(parse(&file, &meta(98, 0, 0))
            .unwrap_err()
            .to_string()
            .contains("differs"));
        assert!(parse(&file, &meta(99, 5, 0))
            .unwrap_err()
            .to_string()
            .contains("capacity"));
        assert!(parse(&file, b"\x02\x08").is_err());
        assert!(parse(&file[..100], &meta(99, 0, 0)).is_err());
    }

    #[test]
    fn a_refusal_is_a_value_that_carries_what_was_read() {
        let file = image(4, 99, 0, &[]);
        let refused = |m: &[u8]| parse(&file, m).unwrap_err();
        let write_order = CheckpointRefusal::WriteOrder { meta: 98, file: 99 };
        assert_eq!(refused(&meta(98, 0, 0)), write_order);
        let outside = CheckpointRefusal::QueueOutsideRing {
            size: 5,
            head: 0,
            capacity: 4,
        };
        assert_eq!(refused(&meta(99, 5, 0)), outside);
        assert_eq!(refused(&meta(99, -1, 0)), CheckpointRefusal::NegativeQueue);
        let short = parse(&file[..100], &meta(99, 0, 0)).unwrap_err();
        assert_eq!(short, CheckpointRefusal::Size { len: 100 });
    }
}
