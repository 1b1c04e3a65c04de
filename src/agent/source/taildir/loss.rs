//! Loss at the source, counted to the line: a file given up before it was read to its end
//! (a deleted-file limit or `spoolBytes`, or deleted before it was opened while neither held
//! nor spooled) has its unread lines counted by reading the rest of it for `\n` (through
//! its descriptor or spool link, so exactly), or, when no byte of it can be read any more,
//! estimated from its bytes at the source's mean line length (and the WARN says so). The
//! counts go to `LinesLostUnreadCount` and `BytesLostUnreadCount`; one WARN names the file,
//! its size, what was lost and why. Each loss is noted in the source's loss window on the
//! alarm board too ([`crate::agent::alarm::loss`]): the built-in alarm `<source>.linesLost`
//! and `/health`'s `degraded` (gauges `LinesLostRecently`, `BytesLostRecently`).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::loss_file::{GivenUp, LossState, GIVEN_UP_MAX};
use crate::agent::alarm::loss::LossWindow;
use crate::agent::metrics::source::taildir::{BYTES_LOST_RECENTLY, LINES_LOST_RECENTLY};
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::source::file_lines::Line;

/// Bytes read at a time when counting the lines of a file given up.
pub(crate) const COUNT_CHUNK_BYTES: usize = 1 << 20;

/// The source's loss counters and what it read (for the estimate).
#[derive(Debug, Default)]
pub(crate) struct Lost {
    pub(crate) counters: Option<Arc<CounterGroup>>,
    /// The source's loss window on the alarm board.
    pub(crate) window: Option<Arc<Mutex<LossWindow>>>,
    /// Lines and bytes lost unread since the position file began (restored at start from
    /// `<positionFile>.loss`).
    pub lines: u64,
    pub bytes: u64,
    /// Lines and bytes handed out (their mean line length).
    read_lines: u64,
    read_bytes: u64,
    /// Files given up whose position entries may still be on disk (until the next durable
    /// position write): never counted again at a restart.
    pub(crate) given_up: Vec<GivenUp>,
    /// The sizes saved with the last durable position write before the start (for the saved
    /// entries whose files are gone at the first scan).
    pub(crate) recorded: BTreeMap<u64, u64>,
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

    /// Takes up the state saved by the previous run (`<positionFile>.loss`).
    pub(crate) fn restore(&mut self, s: LossState) {
        self.lines = s.lines;
        self.bytes = s.bytes;
        self.read_lines = s.read_lines;
        self.read_bytes = s.read_bytes;
        self.given_up = s.given_up;
        self.recorded = s.sizes;
        self.show_totals();
    }

    /// Raises the source's counters to the totals (a restarted source keeps its counter
    /// group: never added twice).
    pub(crate) fn show_totals(&self) {
        if let Some(c) = &self.counters {
            let shown = |k: SourceCounter| c.get(k.flume_name());
            let lines = self
                .lines
                .saturating_sub(shown(SourceCounter::LinesLostUnread));
            let bytes = self
                .bytes
                .saturating_sub(shown(SourceCounter::BytesLostUnread));
            c.add(SourceCounter::LinesLostUnread, lines);
            c.add(SourceCounter::BytesLostUnread, bytes);
        }
    }

    /// Remembers a file given up (its position entry may still be on disk).
    pub(crate) fn note_given_up(&mut self, inode: u64, file: String) {
        if self.given_up.len() >= GIVEN_UP_MAX {
            self.given_up.remove(0);
        }
        self.given_up.push(GivenUp { inode, file });
    }

    /// Whether the saved entry of `inode` at `file` was counted already.
    pub(crate) fn was_given_up(&self, inode: u64, file: &str) -> bool {
        self.given_up
            .iter()
            .any(|g| g.inode == inode && g.file == file)
    }

    /// The state to save, with the followed files' `sizes`.
    pub(crate) fn state(&self, sizes: BTreeMap<u64, u64>) -> LossState {
        LossState {
            lines: self.lines,
            bytes: self.bytes,
            read_lines: self.read_lines,
            read_bytes: self.read_bytes,
            given_up: self.given_up.clone(),
            sizes,
        }
    }

    pub(crate) fn add(&mut self, lines: u64, bytes: u64) {
        self.lines += lines;
        self.bytes += bytes;
        if let Some(c) = &self.counters {
            c.add(SourceCounter::LinesLostUnread, lines);
            c.add(SourceCounter::BytesLostUnread, bytes);
        }
        if let Some(w) = &self.window {
            w.lock().lost(Instant::now(), lines, bytes);
        }
    }
}

/// The gauges of a loss window: lines and bytes lost within it.
pub(crate) fn recent_gauges(w: &Mutex<LossWindow>) -> [(&'static str, String); 2] {
    let (lines, bytes) = w.lock().recent(Instant::now());
    [
        (LINES_LOST_RECENTLY, lines.to_string()),
        (BYTES_LOST_RECENTLY, bytes.to_string()),
    ]
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
