//! What goes into an `hdfs` sink file, as pure functions of events and bytes: the stream
//! serializers (`TEXT`, `HEADER_AND_TEXT`) with an optional codec, Hadoop's SequenceFile
//! (version 6, uncompressed; key `LongWritable` timestamp, value `BytesWritable` or `Text`) and
//! an Avro object container of Flume's event schema (`avro_event`, codec null).
//!
//! An [`Encoder`] turns events into the bytes of one batch; a batch always ends on a unit a
//! reader can stop at (a line, a compressed unit, a SequenceFile record, an Avro block), so
//! what an fsync covered is readable. [`valid_prefix`] finds, in a file left by a crash, the
//! end of the last such unit: recovery cuts the file there.

use std::io;

use super::codec::Codec;
use super::config::{FileType, RollingConfig, Serializer, WriteFormat};
use crate::agent::out_headers::{flume_order, write_header_text};
use sluice_core::Event;

/// Flume's Avro event schema (`FlumeEventAvroEventSerializer`).
pub const AVRO_EVENT_SCHEMA: &str = r#"{"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}"#;
/// SequenceFile key class.
pub const SEQ_KEY_CLASS: &str = "org.apache.hadoop.io.LongWritable";
/// SequenceFile value class for writeFormat `Writable`.
pub const SEQ_BYTES_CLASS: &str = "org.apache.hadoop.io.BytesWritable";
/// SequenceFile value class for writeFormat `Text`.
pub const SEQ_TEXT_CLASS: &str = "org.apache.hadoop.io.Text";
/// Bytes between SequenceFile sync markers (Hadoop's `SYNC_INTERVAL`).
pub const SEQ_SYNC_INTERVAL: usize = 100 * (4 + 16);
const AVRO_MAGIC: &[u8; 4] = b"Obj\x01";
const SEQ_MAGIC: &[u8; 4] = b"SEQ\x06";

/// The layout of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Lines (or headers and lines) through an optional codec.
    Stream {
        /// `HEADER_AND_TEXT` instead of `TEXT`.
        with_headers: bool,
        /// `serializer.appendNewline`.
        newline: bool,
        /// `hdfs.codeC`.
        codec: Option<Codec>,
        /// `keepEventId`: the event id among the written headers.
        keep_id: bool,
    },
    /// Hadoop SequenceFile; `text` = writeFormat Text.
    Sequence {
        /// Values as `Text` instead of `BytesWritable`.
        text: bool,
    },
    /// Avro object container; a block at least every `sync_interval` bytes.
    Avro {
        /// `serializer.syncIntervalBytes`.
        sync_interval: usize,
        /// `keepEventId`: the event id among the written headers.
        keep_id: bool,
    },
    /// The staged rows of a Parquet file (`serializer = parquet`,
    /// [`super::parquet::stage`]): the file itself is written at roll by the store
    /// ([`super::store::parquet`]).
    Rows {
        /// `keepEventId`: the event id among the staged headers.
        keep_id: bool,
    },
}

impl Layout {
    /// The layout a configuration asks for.
    pub fn of(cfg: &RollingConfig) -> Layout {
        if cfg.serializer_class.is_some() {
            // A handed serializer's bytes, opaque: recovery keeps every byte a file has (the
            // last committed take's cursor still cuts what came after it).
            return Layout::Stream {
                with_headers: false,
                newline: false,
                codec: None,
                keep_id: cfg.keep_event_id,
            };
        }
        if cfg.parquet.is_some() {
            return Layout::Rows {
                keep_id: cfg.keep_event_id,
            };
        }
        match (cfg.file_type, cfg.serializer) {
            (FileType::SequenceFile, _) => Layout::Sequence {
                text: cfg.write_format == WriteFormat::Text,
            },
            (_, Serializer::AvroEvent) => Layout::Avro {
                sync_interval: cfg.sync_interval_bytes as usize,
                keep_id: cfg.keep_event_id,
            },
            (ft, s) => Layout::Stream {
                with_headers: s == Serializer::HeaderAndText,
                newline: cfg.append_newline,
                codec: if ft == FileType::CompressedStream {
                    cfg.codec
                } else {
                    None
                },
                keep_id: cfg.keep_event_id,
            },
        }
    }
}

/// Largest batch buffer an encoder keeps for the next batch (a bigger one is freed).
pub const BATCH_BUFFER_KEEP_BYTES: usize = 16 * 1024 * 1024;

/// Turns events into a file's bytes, batch by batch.
#[derive(Debug)]
pub struct Encoder {
    layout: Layout,
    sync: [u8; 16],
    pending: Vec<u8>,
    pending_count: u64,
    out: Vec<u8>,
    since_sync: usize,
}

impl Encoder {
    /// An encoder for a new file (`seed` draws the sync marker).
    pub fn new(layout: Layout, seed: u64) -> Encoder {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut sync = [0u8; 16];
        rng.fill(&mut sync);
        Encoder {
            layout,
            sync,
            pending: Vec::new(),
            pending_count: 0,
            out: Vec::new(),
            since_sync: 0,
        }
    }

    /// The bytes a new file starts with.
    pub fn header(&self) -> Vec<u8> {
        let mut h = Vec::new();
        match self.layout {
            Layout::Stream { .. } | Layout::Rows { .. } => {}
            Layout::Sequence { text } => {
                h.extend_from_slice(SEQ_MAGIC);
                write_text(&mut h, SEQ_KEY_CLASS.as_bytes());
                write_text(
                    &mut h,
                    if text {
                        SEQ_TEXT_CLASS
                    } else {
                        SEQ_BYTES_CLASS
                    }
                    .as_bytes(),
                );
                h.extend_from_slice(&[0, 0]); // not compressed, not block-compressed
                h.extend_from_slice(&0u32.to_be_bytes()); // no metadata
                h.extend_from_slice(&self.sync);
            }
            Layout::Avro { .. } => {
                h.extend_from_slice(AVRO_MAGIC);
                avro_long(&mut h, 2);
                avro_bytes(&mut h, b"avro.codec");
                avro_bytes(&mut h, b"null");
                avro_bytes(&mut h, b"avro.schema");
                avro_bytes(&mut h, AVRO_EVENT_SCHEMA.as_bytes());
                avro_long(&mut h, 0);
                h.extend_from_slice(&self.sync);
            }
        }
        h
    }

    /// Adds one SequenceFile record (a sync marker first when one is due): key `ts_ms`, the
    /// body as `Text` (`text`) or `BytesWritable`.
    fn add_sequence(&mut self, e: &Event, ts_ms: i64, text: bool) -> io::Result<()> {
        if self.since_sync >= SEQ_SYNC_INTERVAL {
            self.out.extend_from_slice(&(-1i32).to_be_bytes());
            self.out.extend_from_slice(&self.sync);
            self.since_sync = 0;
        }
        let mut value = Vec::with_capacity(e.body.len() + 5);
        if text {
            write_text(&mut value, &e.body);
        } else {
            value.extend_from_slice(&(e.body.len() as u32).to_be_bytes());
            value.extend_from_slice(&e.body);
        }
        let record_len = u32::try_from(8 + value.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "event too large for a SequenceFile record",
            )
        })?;
        let start = self.out.len();
        self.out.extend_from_slice(&record_len.to_be_bytes());
        self.out.extend_from_slice(&8u32.to_be_bytes());
        self.out.extend_from_slice(&ts_ms.to_be_bytes());
        self.out.extend_from_slice(&value);
        self.since_sync += self.out.len() - start;
        Ok(())
    }

    /// Adds one event; `ts_ms` is its timestamp (the SequenceFile key).
    pub fn add(&mut self, e: &Event, ts_ms: i64) -> io::Result<()> {
        match self.layout {
            Layout::Stream {
                with_headers,
                newline,
                codec,
                keep_id,
            } => {
                // Uncompressed bytes go straight to the batch's output: one copy per body.
                let to = if codec.is_none() {
                    &mut self.out
                } else {
                    &mut self.pending
                };
                if with_headers {
                    write_header_text(to, e, keep_id);
                }
                to.extend_from_slice(&e.body);
                if newline {
                    to.push(b'\n');
                }
            }
            Layout::Sequence { text } => self.add_sequence(e, ts_ms, text)?,
            Layout::Avro {
                sync_interval,
                keep_id,
            } => {
                // Flume writes the map as its HashMap iterates, the id left out.
                let headers = flume_order(e, keep_id);
                if !headers.is_empty() {
                    avro_long(&mut self.pending, headers.len() as i64);
                    for (k, v) in headers {
                        avro_bytes(&mut self.pending, k.as_bytes());
                        avro_bytes(&mut self.pending, v.as_bytes());
                    }
                }
                avro_long(&mut self.pending, 0);
                avro_bytes(&mut self.pending, &e.body);
                self.pending_count += 1;
                if self.pending.len() >= sync_interval {
                    self.seal_avro_block();
                }
            }
            Layout::Rows { keep_id } => {
                super::parquet::stage::encode_batch(
                    &mut self.out,
                    std::slice::from_ref(e),
                    keep_id,
                );
            }
        }
        Ok(())
    }

    fn seal_avro_block(&mut self) {
        if self.pending_count == 0 {
            return;
        }
        avro_long(&mut self.out, self.pending_count as i64);
        avro_long(&mut self.out, self.pending.len() as i64);
        self.out.append(&mut self.pending);
        self.out.extend_from_slice(&self.sync);
        self.pending_count = 0;
    }

    /// The bytes of the batch so far, ending on a unit boundary. They stay in the encoder
    /// (whose buffer is reused from batch to batch) until [`Encoder::clear_batch`].
    pub fn batch(&mut self) -> io::Result<&[u8]> {
        match self.layout {
            Layout::Stream { codec: Some(c), .. } if !self.pending.is_empty() => {
                let unit = c.compress(&self.pending)?;
                self.pending.clear();
                self.out.extend_from_slice(&unit);
            }
            Layout::Avro { .. } => self.seal_avro_block(),
            _ => {}
        }
        Ok(&self.out)
    }

    /// Forgets the batch's bytes (once written), keeping the buffer unless it grew past
    /// `keep_bytes` (at most [`BATCH_BUFFER_KEEP_BYTES`]).
    pub fn clear_batch(&mut self, keep_bytes: usize) {
        self.out.clear();
        if self.out.capacity() > keep_bytes.min(BATCH_BUFFER_KEEP_BYTES) {
            self.out = Vec::new();
        }
    }

    /// Bytes added and not yet written (what `hdfs.maxBufferBytes` bounds).
    pub fn buffered_bytes(&self) -> usize {
        self.out.len() + self.pending.len()
    }

    /// The bytes of the batch so far, ending on a unit boundary; the encoder is then empty.
    pub fn take_batch(&mut self) -> io::Result<Vec<u8>> {
        self.batch()?;
        Ok(std::mem::take(&mut self.out))
    }
}

/// The bytes `HEADER_AND_TEXT` writes before an event's body: Java's `Map.toString()` of its
/// headers in Flume's order (the id only with `keep_id`) and a space.
pub fn headers_text(e: &Event, keep_id: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_header_text(&mut out, e, keep_id);
    out
}

/// Hadoop's `WritableUtils.writeVLong`.
pub fn write_vlong(out: &mut Vec<u8>, v: i64) {
    if (-112..=127).contains(&v) {
        out.push(v as u8);
        return;
    }
    let (mut len, i) = if v < 0 { (-120i32, !v) } else { (-112i32, v) };
    let mut tmp = i;
    while tmp != 0 {
        tmp >>= 8;
        len -= 1;
    }
    out.push(len as u8);
    let n = if len < -120 {
        -(len + 120)
    } else {
        -(len + 112)
    };
    for idx in (0..n).rev() {
        out.push((i >> (idx * 8)) as u8);
    }
}

fn write_text(out: &mut Vec<u8>, s: &[u8]) {
    write_vlong(out, s.len() as i64);
    out.extend_from_slice(s);
}

fn avro_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

fn avro_bytes(out: &mut Vec<u8>, b: &[u8]) {
    avro_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

mod prefix;
pub use prefix::{read_vlong, valid_prefix};

#[cfg(test)]
mod tests;
