//! Loss at the source, counted to the line: a file given up before it was read to its end
//! (a deleted-file limit or `spoolBytes`, or deleted before it was opened while neither held
//! nor spooled) has its unread lines counted by reading the rest of it for `\n` (through
//! its descriptor or spool link, so exactly), or, when no byte of it can be read any more,
//! estimated from its bytes at the source's mean line length (and the WARN says so). The
//! counts go to `LinesLostUnreadCount` and `BytesLostUnreadCount`; one WARN names the file,
//! its size, what was lost and why.

use std::io::Read;
use std::sync::Arc;

use super::tailer::Tailer;
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::source::file_lines::Line;

/// Bytes read at a time when counting the lines of a file given up.
pub(crate) const COUNT_CHUNK_BYTES: usize = 1 << 20;

/// The source's loss counters and what it read (for the estimate).
#[derive(Debug, Default)]
pub(crate) struct Lost {
    counters: Option<Arc<CounterGroup>>,
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
    fn estimate(&self, bytes: u64) -> u64 {
        let mean = match self.read_lines {
            0 => 100,
            n => (self.read_bytes / n).max(1),
        };
        bytes.div_ceil(mean)
    }

    fn add(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.bytes += bytes;
        if let Some(c) = &self.counters {
            c.add(SourceCounter::LinesLostUnread, lines);
            c.add(SourceCounter::BytesLostUnread, bytes);
        }
    }
}

/// Complete lines (`\n`) and bytes from `from` to the end of `f`.
fn count_from(mut f: &std::fs::File, from: u64) -> std::io::Result<(u64, u64)> {
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

impl Tailer {
    /// Counts the loss to the source's counters too (the tailer alone keeps totals).
    pub(crate) fn count_loss_to(&mut self, counters: Arc<CounterGroup>) {
        self.lost.counters = Some(counters);
    }

    /// Lines and bytes given up unread since the source started.
    pub fn lost_unread(&self) -> (u64, u64) {
        (self.lost.lines, self.lost.bytes)
    }

    /// Gives `inode` up unread because of `why`: counts its lines and bytes past its
    /// committed position, says so in one WARN, forgets it and removes its spool link.
    pub(crate) fn give_up(&mut self, inode: u64, why: &str) {
        let Some(t) = self.files.get_mut(&inode) else {
            return;
        };
        let pos = t.pos;
        let counted = match t.open() {
            Ok(Some(f)) => count_from(f, pos).ok(),
            _ => None,
        };
        let (lines, bytes, size, exact) = match counted {
            Some((lines, bytes)) => (lines, bytes, pos + bytes, true),
            None => {
                let bytes = t.size_seen.saturating_sub(pos);
                (self.lost.estimate(bytes), bytes, t.size_seen, false)
            }
        };
        let path = t.path.display().to_string();
        if bytes > 0 {
            self.lost.add(lines, bytes);
            tracing::warn!(
                file = %path,
                inode,
                size,
                pos,
                lines_lost = lines,
                bytes_lost = bytes,
                lines_counted = if exact { "exactly" } else { "estimated from the bytes" },
                why,
                "file given up before it was read to its end; its unread lines are lost (raise spoolBytes or the deleted-file limits, or make the channel drain)"
            );
        } else {
            tracing::info!(file = %path, inode, why, "file closed after it was read to its end");
        }
        self.forget(inode, true);
    }
}
