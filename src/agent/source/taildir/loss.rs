//! Loss at the source, counted to the line: a file given up before it was read to its end
//! (a deleted-file limit or `spoolBytes`, or deleted before it was opened while neither held
//! nor spooled) has its unread lines counted by reading the rest of it for `\n` (through
//! its descriptor or spool link, so exactly), or, when no byte of it can be read any more,
//! estimated from its bytes at the source's mean line length (and the WARN says so). The
//! counts go to `LinesLostUnreadCount` and `BytesLostUnreadCount`; one WARN names the file,
//! its size, what was lost and why.

use std::io::Read;
use std::sync::Arc;

use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::source::file_lines::Line;

/// Bytes read at a time when counting the lines of a file given up.
pub(crate) const COUNT_CHUNK_BYTES: usize = 1 << 20;

/// The source's loss counters and what it read (for the estimate).
#[derive(Debug, Default)]
pub(crate) struct Lost {
    pub(crate) counters: Option<Arc<CounterGroup>>,
    /// Lines and bytes lost unread since the source started.
    pub lines: u64,
    pub bytes: u64,
    /// Lines and bytes handed out since the source started (their mean line length).
    read_lines: u64,
    read_bytes: u64,
}

impl Lost {
    /// Notes lines handed out.
    pub(crate) fn read(&mut self, lines: &[Line]) {
        self.read_lines += lines.len() as u64;
        self.read_bytes += lines.iter().map(|l| l.consumed.max(1)).sum::<u64>();
    }

    /// Lines in `bytes` at the mean line length seen (100 bytes before any line was read).
    pub(crate) fn estimate(&self, bytes: u64) -> u64 {
        let mean = match self.read_lines {
            0 => 100,
            n => (self.read_bytes / n).max(1),
        };
        bytes.div_ceil(mean)
    }

    pub(crate) fn add(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.bytes += bytes;
        if let Some(c) = &self.counters {
            c.add(SourceCounter::LinesLostUnread, lines);
            c.add(SourceCounter::BytesLostUnread, bytes);
        }
    }
}

/// Complete lines (`\n`) and bytes from `from` to the end of `f`.
pub(crate) fn count_from(mut f: &std::fs::File, from: u64) -> std::io::Result<(u64, u64)> {
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(from))?;
    let mut buf = vec![0u8; COUNT_CHUNK_BYTES];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => return Ok((lines, bytes)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}
