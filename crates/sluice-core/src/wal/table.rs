//! The segment table: every segment of the channel by id, with its directory, path and a
//! shared read handle, and the reading of an event back from its put record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use super::buffer_pool::BufferPool;
use super::record::{frame_len, DecodeError, EventPtr, RecordBody};
use super::seal::FrameCodec;
use crate::event::Event;
use crate::io::FsFile;

/// One segment's entry.
#[derive(Clone, Debug)]
pub struct SegmentEntry {
    /// Index of its data directory.
    pub dir_index: usize,
    /// Its path.
    pub path: PathBuf,
    /// A handle for positional reads.
    pub file: Arc<dyn FsFile>,
    /// How its records read: their CRC salt (from its header's version: 0 or the segment
    /// id) and, for a sealed segment, its data key.
    pub codec: FrameCodec,
}

/// Why an event could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No such segment.
    #[error("segment {0} is missing")]
    MissingSegment(u32),
    /// I/O failed.
    #[error("read {}: {source}", path.display())]
    Io {
        /// The segment.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The record is damaged or is not the expected put.
    #[error("{}:{offset}: {detail}", path.display())]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Offset of the record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
}

/// All segments of a channel.
#[derive(Debug, Default)]
pub struct SegmentTable {
    segments: RwLock<BTreeMap<u32, SegmentEntry>>,
    pool: BufferPool,
}

const FIRST_READ_BYTES: usize = 4096;

impl SegmentTable {
    /// The direct-I/O buffers of the channel's writers.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// Registers a segment whose records read with `codec`.
    pub fn insert(
        &self,
        id: u32,
        dir_index: usize,
        path: PathBuf,
        file: Arc<dyn FsFile>,
        codec: FrameCodec,
    ) {
        self.segments.write().insert(
            id,
            SegmentEntry {
                dir_index,
                path,
                file,
                codec,
            },
        );
    }

    /// Forgets a segment (after it is deleted).
    pub fn remove(&self, id: u32) -> Option<SegmentEntry> {
        self.segments.write().remove(&id)
    }

    /// A segment's entry.
    pub fn get(&self, id: u32) -> Option<SegmentEntry> {
        self.segments.read().get(&id).cloned()
    }

    /// Every segment id with its entry, in id order.
    pub fn all(&self) -> Vec<(u32, SegmentEntry)> {
        self.segments
            .read()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// Reads the event of the put record at `ptr` from its segment, checking its checksum and
    /// that its sequence number is `expected_seq` (the queue's key for it).
    pub fn read_event(&self, ptr: EventPtr, expected_seq: u64) -> Result<Event, ReadError> {
        let entry = self
            .get(ptr.segment)
            .ok_or(ReadError::MissingSegment(ptr.segment))?;
        let offset = u64::from(ptr.offset);
        let corrupt = |detail: String| ReadError::Corrupt {
            path: entry.path.clone(),
            offset,
            detail,
        };
        let io_err = |source| ReadError::Io {
            path: entry.path.clone(),
            source,
        };
        let mut buf = vec![0u8; FIRST_READ_BYTES];
        let mut got = 0;
        while got < buf.len() {
            let n = entry
                .file
                .read_at(&mut buf[got..], offset + got as u64)
                .map_err(io_err)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        buf.truncate(got);
        let total = frame_len(&buf).map_err(|e| corrupt(e.to_string()))?;
        if total > buf.len() {
            let have = buf.len();
            buf.resize(total, 0);
            entry
                .file
                .read_exact_at(&mut buf[have..], offset + have as u64)
                .map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        corrupt(
                            DecodeError::Truncated {
                                needed: total,
                                available: have,
                            }
                            .to_string(),
                        )
                    } else {
                        io_err(e)
                    }
                })?;
        }
        let (record, _) = entry
            .codec
            .decode(&buf, offset)
            .map_err(|e| corrupt(e.to_string()))?;
        if record.seq != expected_seq {
            return Err(corrupt(format!(
                "expected the put with seq {expected_seq}, found seq {}",
                record.seq
            )));
        }
        match record.body {
            RecordBody::Put(event) => Ok(event),
            other => Err(corrupt(format!("expected a put record, found {other:?}"))),
        }
    }
}
