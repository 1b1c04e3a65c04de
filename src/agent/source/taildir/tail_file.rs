//! One followed file: its inode, its committed position, an open descriptor (closed after
//! `idleTimeout` without changes) and a line buffer holding a partial last line until its
//! newline arrives. Reads go through the descriptor, so a file renamed or deleted while
//! followed is still read to its end. With `multiline.*` its lines go through a [`Joiner`]
//! and a read's end (the position to commit) stops before the lines the joiner holds.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::fingerprint::{self, Fingerprint};
use crate::agent::invariant;
use crate::agent::source::file_lines::{Fill, Line, LineBuf};
use crate::agent::source::multiline::Joiner;

/// Longest line TAILDIR hands out in one event; a longer one is cut into pieces of this size
/// (Flume has no limit and would hold the whole line in memory).
pub(crate) const TAILDIR_LINE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// A followed file.
#[derive(Debug)]
pub(crate) struct TailFile {
    /// Its path when last seen.
    pub path: PathBuf,
    /// Its inode (the identity that survives renames).
    pub inode: u64,
    /// Input bytes whose events were committed.
    pub pos: u64,
    /// Index of the file group it belongs to.
    pub group: usize,
    /// Modification time when last seen.
    pub mtime: SystemTime,
    /// When data last arrived (or the file last changed).
    pub last_change: Instant,
    /// Whether there may be data to read.
    pub pending: bool,
    /// Whether the last scan found it under a matching name.
    pub matched: bool,
    /// Its latest fingerprint (see [`fingerprint`]): at `pos`, or at an earlier committed
    /// position when restored from the fingerprint file.
    pub fingerprint: Option<Fingerprint>,
    /// When it was first seen deleted (its link count 0) while still open.
    pub deleted_since: Option<Instant>,
    /// The origin of its lines' event ids (see [`super::origins`]); `None` until one is
    /// saved, and again after it is read from its start.
    pub origin: Option<u64>,
    /// Its birth time (ns since the epoch, 0 if unknown), saved with the origin.
    pub born_ns: u64,
    /// Its hard link in the spool ([`super::spool`]), read when its own name is gone.
    pub spool: Option<PathBuf>,
    /// Its size at the last scan (what a file gone unread had, for the count of its loss).
    pub size_seen: u64,
    /// The scan that first saw it: with its mtime then, the order of reading (oldest first).
    pub age: (u64, SystemTime),
    /// It could not be opened any more (gone from its name, no spool link, no descriptor).
    pub vanished: bool,
    /// Its name may be a symbolic link, opened through (`followSymlinks = true`).
    pub follow_links: bool,
    /// A truncation was noticed while batches of it were in flight: it is read again from
    /// its start once they committed ([`TailFile::commit`] makes it pending then).
    replaced_waiting: bool,
    file: Option<File>,
    lines: LineBuf,
    joiner: Option<Joiner>,
}

/// `path` opened when it is still the file `inode`; `None` when it is gone or another file.
/// Opens `path` if it still names the file `inode`: through a symbolic link only with
/// `follow` (`followSymlinks`; never for a spool link), else a link there names no file of
/// this source's (`O_NOFOLLOW`, so a link swapped in after the scan is not read either).
fn open_same(path: &std::path::Path, inode: u64, follow: bool) -> std::io::Result<Option<File>> {
    let opened = if follow {
        File::open(path)
    } else {
        crate::agent::nofollow::open_read(path)
    };
    match opened {
        Ok(f) if f.metadata()?.ino() == inode => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if crate::agent::nofollow::link_refused(&e).is_some() => {
            // The scan names the link once at WARN.
            tracing::debug!(file = %path.display(), inode, "a followed file's name is a symbolic link now; not read through it (followSymlinks = false)");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What one read gave.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// Complete lines (or pieces of over-long ones), in order.
    pub lines: Vec<Line>,
    /// Offset after the last of them (the position to commit).
    pub end: u64,
    /// The file has no more data for now.
    pub at_eof: bool,
    /// Nothing can be read until the batches in flight commit (a truncation was noticed).
    pub waiting: bool,
}

impl TailFile {
    /// A file to follow from `pos`.
    pub(crate) fn new(
        path: PathBuf,
        inode: u64,
        pos: u64,
        group: usize,
        mtime: SystemTime,
    ) -> Self {
        TailFile {
            path,
            inode,
            pos,
            group,
            mtime,
            last_change: Instant::now(),
            pending: true,
            matched: true,
            fingerprint: None,
            file: None,
            lines: LineBuf::new(pos, TAILDIR_LINE_BYTES_MAX, true),
            joiner: None,
            deleted_since: None,
            origin: None,
            born_ns: 0,
            spool: None,
            size_seen: 0,
            age: (0, mtime),
            vanished: false,
            follow_links: false,
            replaced_waiting: false,
        }
    }

    /// The size of the file when it is deleted but kept, by this descriptor or its spool
    /// link only (its disk space held by this source), else `None`.
    pub(crate) fn deleted_size(&self) -> Option<u64> {
        let m = match (&self.file, &self.spool) {
            (Some(f), _) => f.metadata().ok()?,
            (None, Some(l)) => std::fs::symlink_metadata(l).ok()?,
            (None, None) => return None,
        };
        (m.nlink() <= u64::from(self.spool.is_some())).then_some(m.len())
    }

    /// Joins its lines into multiline events.
    pub(crate) fn with_joiner(mut self, joiner: Option<Joiner>) -> Self {
        self.joiner = joiner;
        self
    }

    /// Whether the joiner holds lines not handed out yet.
    pub(crate) fn holds_lines(&self) -> bool {
        self.joiner.as_ref().is_some_and(Joiner::is_pending)
    }

    /// Bytes of the event the joiner holds.
    pub(crate) fn held_bytes(&self) -> usize {
        self.joiner.as_ref().map_or(0, Joiner::held_bytes)
    }

    /// Asks the joiner for its held event at the next read (`multiline.maxHeldBytes`).
    pub(crate) fn release_held(&mut self) {
        if let Some(j) = self.joiner.as_mut() {
            j.release();
        }
    }

    /// Whether the joiner holds lines whose `multiline.timeout` passed at `now`.
    pub(crate) fn multiline_expired(&self, now: Instant) -> bool {
        self.joiner.as_ref().is_some_and(|j| j.expired(now))
    }

    /// Whether the descriptor is open.
    pub(crate) fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// Offset up to which bytes were read into the buffer.
    pub(crate) fn read_offset(&self) -> u64 {
        self.lines.read_offset()
    }

    /// Closes the descriptor (an idle file); it is opened again when it changes.
    pub(crate) fn close(&mut self) {
        self.file = None;
        self.lines.release_if_empty();
    }

    /// The file was truncated (copytruncate): follow it again from its start. Only called
    /// while none of its events are in flight.
    pub(crate) fn restart_from_zero(&mut self, why: &str) {
        tracing::info!(file = %self.path.display(), inode = self.inode, pos = self.pos, "{why}; reading it again from the beginning");
        self.pos = 0;
        self.fingerprint = None;
        // Other bytes at the same offsets: their lines must not share the old ids.
        self.origin = None;
        self.replaced_waiting = false;
        self.lines.reset(0);
        if let Some(j) = self.joiner.as_mut() {
            j.reset();
        }
        self.pending = true;
    }

    /// Opens the descriptor (by its name, else by its spool link); `None` when the file is
    /// gone from both (then [`TailFile::vanished`]).
    pub(crate) fn open(&mut self) -> std::io::Result<Option<&File>> {
        if self.file.is_none() {
            let mut f = open_same(&self.path, self.inode, self.follow_links)?;
            if f.is_none() {
                if let Some(link) = &self.spool {
                    f = open_same(link, self.inode, false)?;
                }
            }
            let Some(f) = f else {
                // Gone (or its name belongs to another file now), and not spooled.
                self.vanished = true;
                return Ok(None);
            };
            self.file = Some(f);
        }
        Ok(self.file.as_ref())
    }

    /// Reads up to `max` lines (events, with multiline) past what was handed out, stopping
    /// early once they hold `max_bytes` bytes. A partial last line stays buffered, and so do
    /// the lines the joiner holds: `end` stops before them. With `gone` (the file no longer
    /// matched: rotated away or deleted) the end of the file ends the event held.
    pub(crate) fn read(
        &mut self,
        max: usize,
        max_bytes: usize,
        gone: bool,
    ) -> std::io::Result<Read> {
        let mut out = Read::default();
        if self.open()?.is_none() {
            out.at_eof = true;
            out.lines.extend(self.flush_joiner());
            out.end = self.end();
            return Ok(out);
        }
        let now = Instant::now();
        let mut bytes = 0;
        let mut evs = Vec::new();
        while out.lines.len() < max && bytes < max_bytes {
            if let Some(l) = self.lines.next_line() {
                match self.joiner.as_mut() {
                    None => {
                        bytes += l.bytes.len();
                        out.lines.push(l);
                    }
                    Some(j) => {
                        j.push_each(l, now, &mut evs);
                        for ev in evs.drain(..) {
                            bytes += ev.bytes.len();
                            out.lines.push(ev.into_line());
                        }
                    }
                }
                continue;
            }
            let Some(f) = self.file.as_ref() else { break };
            match self.lines.fill(f, true)? {
                Fill::Read(_) => self.last_change = Instant::now(),
                Fill::Eof => {
                    out.at_eof = true;
                    if gone || self.multiline_expired(now) {
                        out.lines.extend(self.flush_joiner());
                    }
                    break;
                }
                // The held lines were in the file: hand them out before starting again.
                Fill::Replaced if self.joiner.as_ref().is_some_and(Joiner::is_pending) => {
                    out.lines.extend(self.flush_joiner());
                    break;
                }
                // Only with none of its batches in flight (every one handed out committed):
                // a batch of the new content committed before an earlier one of the old
                // would set the position back.
                Fill::Replaced if out.lines.is_empty() && self.end() == self.pos => {
                    self.restart_from_zero("file truncated or rewritten under us");
                }
                Fill::Replaced if out.lines.is_empty() => {
                    self.replaced_waiting = true;
                    out.waiting = true;
                    break;
                }
                // Hand out what was read first, or wait for the batches in flight to commit;
                // the next read notices again and restarts.
                Fill::Replaced => break,
            }
        }
        out.end = self.end();
        if out.at_eof {
            self.lines.release_if_empty();
        }
        Ok(out)
    }

    fn flush_joiner(&mut self) -> Option<Line> {
        self.joiner.as_mut()?.flush().map(|e| e.into_line())
    }

    /// The position after what was handed out (before the lines the joiner holds).
    fn end(&self) -> u64 {
        let read_to = self.lines.offset();
        self.joiner
            .as_ref()
            .map_or(read_to, |j| j.safe_offset(read_to))
    }

    /// The fingerprint at `end` (through the open descriptor: the bytes just read), before
    /// anything up to it is committed: an origin's anchor.
    pub(crate) fn fingerprint_at(&self, end: u64) -> Option<fingerprint::Fingerprint> {
        let f = self.file.as_ref()?;
        fingerprint::take(f, self.inode, end).ok()
    }

    /// Everything up to `end` was committed; the fingerprint is taken at `end` (through the
    /// open descriptor: the bytes just read).
    pub(crate) fn commit(&mut self, end: u64) {
        // Batches commit in the order read, and a truncation sets the position back to 0
        // before the file is read again: a commit never moves it back.
        invariant::not_back(self.pos, end, "a TAILDIR file's committed position");
        if end != self.pos || self.fingerprint.is_none() {
            let prev = self.fingerprint.take();
            self.fingerprint = self
                .file
                .as_ref()
                .and_then(|f| fingerprint::take_after(prev.as_ref(), f, self.inode, end).ok());
        }
        self.pos = end;
        if self.replaced_waiting && self.end() == self.pos {
            // The last batch of the old content committed: read the new one.
            self.pending = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn follow(p: &std::path::Path) -> TailFile {
        let m = std::fs::metadata(p).unwrap();
        TailFile::new(p.to_path_buf(), m.ino(), 0, 0, SystemTime::now())
    }

    fn bodies(r: &Read) -> Vec<String> {
        r.lines
            .iter()
            .map(|l| String::from_utf8_lossy(&l.bytes).into_owned())
            .collect()
    }

    #[test]
    fn a_partial_last_line_waits_for_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"one\ntw").unwrap();
        let mut t = follow(&p);
        let r = t.read(10, usize::MAX, false).unwrap();
        assert_eq!(bodies(&r), ["one"]);
        assert_eq!(r.end, 4);
        assert!(r.at_eof);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"o\r\n")
            .unwrap();
        let r = t.read(10, usize::MAX, false).unwrap();
        assert_eq!(bodies(&r), ["two"]);
        assert_eq!(r.end, 9);
    }

    #[test]
    fn a_renamed_file_is_read_to_its_end_through_the_open_descriptor() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"1\n").unwrap();
        let mut t = follow(&p);
        assert_eq!(bodies(&t.read(10, usize::MAX, false).unwrap()), ["1"]);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::fs::rename(&p, d.path().join("a.log.1")).unwrap();
        f.write_all(b"2\n").unwrap();
        std::fs::write(&p, b"new\n").unwrap();
        assert_eq!(bodies(&t.read(10, usize::MAX, false).unwrap()), ["2"]);
    }

    #[test]
    #[should_panic(expected = "position moved back from 8 to 4")]
    fn a_commit_behind_the_committed_position_fires() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"one\ntwo\n").unwrap();
        let mut t = follow(&p);
        let r = t.read(10, usize::MAX, false).unwrap();
        t.commit(r.end);
        t.commit(4);
    }

    #[test]
    fn a_truncated_file_is_read_again_from_the_start() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"first line\nsecond line\n").unwrap();
        let mut t = follow(&p);
        let r = t.read(10, usize::MAX, false).unwrap();
        t.commit(r.end);
        // copytruncate: truncate, then the writer goes on.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"third line after truncation\n")
            .unwrap();
        let r = t.read(10, usize::MAX, false).unwrap();
        assert_eq!(bodies(&r), ["third line after truncation"]);
        assert_eq!(r.lines[0].offset, 0);
    }
}
