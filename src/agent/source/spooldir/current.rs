//! The spool file being read: its open file, line buffer, multiline joiner and position, and
//! reading one batch from it (LINE or BLOB), with the size checks that set a file aside when it
//! shrank or was replaced. Synchronous; `spooler` decides which file and when.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use super::config::{Deserializer, SpoolDirConfig};
use super::scan::Candidate;
use crate::agent::source::file_lines::{Fill, Line, LineBuf};
use crate::agent::source::multiline::Joiner;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

#[derive(Debug)]
pub(super) struct Current {
    pub(super) cand: Candidate,
    pub(super) file: File,
    pub(super) lines: LineBuf,
    /// BLOB: offset of the next read.
    pub(super) blob_pos: u64,
    pub(super) eof: bool,
    /// Set when the file must be set aside after the batch in flight.
    pub(super) failed: Option<FileError>,
    pub(super) grew_logged: bool,
    pub(super) cut_logged: bool,
    /// `multiline.*`: joins the file's lines; positions stop before what it holds.
    pub(super) joiner: Option<Joiner>,
    /// The origin of its events' ids ([`origin_of`]); `None`: they get none.
    pub(super) origin: Option<u64>,
}

/// The origin of a spool file's event ids (docs/exactly-once.md): a stable mix of its device,
/// inode and birth time. Spool files are never rewritten, and no other file has the same
/// inode and birth time, so an id names one line of one file; a line read again after a crash
/// (committed, the tracker not yet moved) gets the same id and the file channel drops it.
/// `None` where the file system keeps no birth time (an inode reused by a later file would
/// otherwise repeat ids).
pub(super) fn origin_of(m: &std::fs::Metadata) -> Option<u64> {
    let born = crate::agent::source::file_id::born_ns(m);
    if born == 0 {
        return None;
    }
    // splitmix64's finalizer over the three (stable across builds, unlike std's hasher).
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    Some(mix(mix(mix(m.dev()) ^ m.ino()) ^ born).max(1))
}

/// Sets the id of the event made of the file's bytes `(lo, hi]`.
fn set_id(cur: &Current, e: &mut Event, lo: u64, hi: u64) {
    if let Some(id) = cur.origin.and_then(|o| IdSpan::new(o, lo, hi)) {
        e.headers.insert(EVENT_ID_HEADER, id.text());
    }
}

/// Why the spool file being read is set aside.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// The open file cannot be stat'ed.
    #[error("cannot stat: {0}")]
    Stat(#[source] std::io::Error),
    /// Its name now names another file.
    #[error("file changed after it was dropped in: replaced by another file")]
    Replaced,
    /// Its name is gone (or cannot be stat'ed).
    #[error("file changed after it was dropped in: {0}")]
    Gone(#[source] std::io::Error),
    /// It is shorter than what was read.
    #[error("file changed after it was dropped in: it shrank to {size} bytes below the {read} already read")]
    Shrank {
        /// Its size now.
        size: u64,
        /// Bytes already read.
        read: u64,
    },
    /// A read failed.
    #[error("read failed at offset {offset}: {source}")]
    Read {
        /// Where.
        offset: u64,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A malformed line under `decodeErrorPolicy = FAIL`.
    #[error("malformed {charset} input at byte offset {offset} (decodeErrorPolicy = FAIL)")]
    Malformed {
        /// The input charset.
        charset: String,
        /// The offset of the first bad byte.
        offset: u64,
    },
}

impl Current {
    pub(super) fn read_end(&self, blob: bool) -> u64 {
        if blob {
            self.blob_pos
        } else {
            self.lines.read_offset()
        }
    }
}

/// Whether the file grew past what was read (`Ok(true)`), or an error if it shrank or was
/// replaced.
pub(super) fn check_size(cur: &mut Current, blob: bool) -> Result<bool, FileError> {
    let read = cur.read_end(blob);
    let by_fd = cur.file.metadata().map_err(FileError::Stat)?;
    match std::fs::metadata(&cur.cand.path) {
        Ok(m) if m.ino() != cur.cand.inode => return Err(FileError::Replaced),
        Err(e) => return Err(FileError::Gone(e)),
        Ok(_) => {}
    }
    let size = by_fd.len();
    if size < read {
        return Err(FileError::Shrank { size, read });
    }
    if size > read && !cur.grew_logged {
        cur.grew_logged = true;
        tracing::warn!(file = %cur.cand.path.display(), size, read, "file changed after it was dropped in: it grew; reading on (spool files should be complete before they are moved in)");
    }
    Ok(size > read)
}

fn headers(cur: &Current, cfg: &SpoolDirConfig, e: &mut Event) {
    if cfg.file_header {
        let abs = std::path::absolute(&cur.cand.path).unwrap_or_else(|_| cur.cand.path.clone());
        e.headers
            .insert(&cfg.file_header_key, abs.display().to_string());
    }
    if cfg.basename_header {
        let base = cur
            .cand
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        e.headers.insert(&cfg.basename_header_key, base);
    }
}

/// Reads up to a batch of line events (joined by multiline when on); with the offset the
/// position may move to once they are committed (before any line a multiline event holds).
/// A malformed line under `decodeErrorPolicy = FAIL` sets `cur.failed` and ends the batch
/// before it.
pub(super) fn read_lines(
    cur: &mut Current,
    cfg: &SpoolDirConfig,
) -> Result<(Vec<Event>, u64), FileError> {
    let Deserializer::Line { output_charset, .. } = cfg.deserializer else {
        return Ok((Vec::new(), cur.lines.offset()));
    };
    let mut events = Vec::new();
    let now = std::time::Instant::now();
    while events.len() < cfg.batch_size && !cur.eof {
        let Some(mut line) = next_line(cur)? else {
            break;
        };
        if !line.complete && !cur.eof && !cur.cut_logged {
            cur.cut_logged = true;
            tracing::warn!(file = %cur.cand.path.display(), offset = line.offset, max = cur.lines_max(cfg), "line length exceeds maxLineLength; cut into several events (logged once per file)");
        }
        let bytes = std::mem::take(&mut line.bytes);
        match cfg
            .input_charset
            .decode_owned(bytes, cfg.decode_error_policy)
        {
            Ok(text) => {
                let body = output_charset.encode(text);
                push_line(
                    cur,
                    cfg,
                    Line {
                        bytes: body,
                        ..line
                    },
                    now,
                    &mut events,
                );
            }
            Err(i) => {
                cur.failed = Some(FileError::Malformed {
                    charset: format!("{:?}", cfg.input_charset),
                    offset: line.offset + i as u64,
                });
                // The lines held before the malformed one are whole lines of the file.
                flush_held(cur, cfg, &mut events);
                return Ok((events, line.offset));
            }
        }
    }
    // The end of the file ends the event held.
    if cur.eof {
        flush_held(cur, cfg, &mut events);
    }
    let read_to = cur.lines.offset();
    let pos = cur
        .joiner
        .as_ref()
        .map_or(read_to, |j| j.safe_offset(read_to));
    Ok((events, pos))
}

/// The next line of the file (at its end the unterminated rest, `cur.eof` set); `None` when
/// there is no more.
fn next_line(cur: &mut Current) -> Result<Option<Line>, FileError> {
    loop {
        if let Some(l) = cur.lines.next_line() {
            return Ok(Some(l));
        }
        match cur.lines.fill(&cur.file, false) {
            Ok(Fill::Read(_)) => continue,
            Ok(_) => {
                if check_size(cur, false)? {
                    continue;
                }
                cur.eof = true;
                return Ok(cur.lines.take_rest());
            }
            Err(source) => {
                return Err(FileError::Read {
                    offset: cur.lines.read_offset(),
                    source,
                })
            }
        }
    }
}

/// A decoded line as an event, or through the multiline joiner (which may hand out the
/// event it held, and this one).
fn push_line(
    cur: &mut Current,
    cfg: &SpoolDirConfig,
    line: Line,
    now: std::time::Instant,
    events: &mut Vec<Event>,
) {
    let span = (line.offset, line.offset + line.consumed);
    let bodies = match cur.joiner.as_mut() {
        None => [Some((line.bytes, span)), None],
        Some(j) => j
            .push(line, now)
            .map(|ev| ev.map(|ev| (ev.bytes, (ev.offset, ev.end)))),
    };
    for (body, (lo, hi)) in bodies.into_iter().flatten() {
        let mut e = Event::new(body);
        headers(cur, cfg, &mut e);
        set_id(cur, &mut e, lo, hi);
        events.push(e);
    }
}

/// The event the multiline joiner holds, if any, as the batch's last.
fn flush_held(cur: &mut Current, cfg: &SpoolDirConfig, events: &mut Vec<Event>) {
    if let Some(ev) = cur.joiner.as_mut().and_then(Joiner::flush) {
        let mut e = Event::new(ev.bytes);
        headers(cur, cfg, &mut e);
        set_id(cur, &mut e, ev.offset, ev.end);
        events.push(e);
    }
}

impl Current {
    fn lines_max(&self, cfg: &SpoolDirConfig) -> usize {
        match cfg.deserializer {
            Deserializer::Line {
                max_line_length, ..
            } => max_line_length,
            Deserializer::Blob { max_blob_length } => max_blob_length,
        }
    }
}

pub(super) fn read_blobs(
    cur: &mut Current,
    cfg: &SpoolDirConfig,
) -> Result<(Vec<Event>, u64), FileError> {
    let Deserializer::Blob { max_blob_length } = cfg.deserializer else {
        return Ok((Vec::new(), cur.blob_pos));
    };
    let mut events = Vec::new();
    let mut bytes_in_batch = 0usize;
    while events.len() < cfg.batch_size && bytes_in_batch < max_blob_length && !cur.eof {
        let mut body = Vec::new();
        let from = cur.blob_pos;
        while body.len() < max_blob_length {
            let want = (max_blob_length - body.len()).min(1 << 20);
            let old = body.len();
            body.resize(old + want, 0);
            let n = cur
                .file
                .read_at(&mut body[old..], cur.blob_pos)
                .map_err(|source| FileError::Read {
                    offset: cur.blob_pos,
                    source,
                })?;
            body.truncate(old + n);
            cur.blob_pos += n as u64;
            if n == 0 {
                if check_size(cur, true)? {
                    continue;
                }
                cur.eof = true;
                break;
            }
        }
        if body.is_empty() {
            break;
        }
        bytes_in_batch += body.len();
        let mut e = Event::new(body);
        headers(cur, cfg, &mut e);
        set_id(cur, &mut e, from, cur.blob_pos);
        events.push(e);
    }
    Ok((events, cur.blob_pos))
}
