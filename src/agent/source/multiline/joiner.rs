//! The multiline joiner: a pure state machine (no I/O, time passed in) fed the lines of one
//! file with their offsets; it hands out whole events.
//!
//! A line is a *continuation* when `pattern` matches it, or when it does not with `negate`.
//! With `match = after` a continuation joins the event before it and any other line starts a
//! new event (handing out the one before); with `match = before` a continuation joins the
//! event being built and the first line that is not one ends it. Joined lines are separated
//! by `\n`. Pieces of a line longer than the source's line limit (`complete == false`) are
//! glued together without a separator; only the first piece is matched.
//!
//! A source may instead give its own test of a continuation line ([`Rules::split_by`]: the
//! `kubernetes` source's runtime partial lines, `match = before`) and ask that an event
//! reaching `maxBytes` be handed out and the rest continue in the next one, never cut off:
//! each of those events is marked `truncated`, none is longer than `maxBytes`.
//!
//! Architecture Invariant: [`Joiner::safe_offset`] is never past the first byte of a line that
//! was pushed and not yet handed out, so a source that makes only that offset durable re-reads
//! a whole event after a crash, never half of one, and never skips one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{Match, MultilineConfig};
use super::held::HeldBytes;
use crate::agent::source::file_lines::Line;

/// The compiled settings, shared by every file of a source.
#[derive(Debug)]
pub(crate) struct Rules {
    pattern: regex::bytes::Regex,
    /// A source's own continuation test, used instead of `pattern`.
    test: Option<fn(&[u8]) -> bool>,
    /// Events reaching `max_bytes` are handed out and continued, not cut.
    split: bool,
    negate: bool,
    match_: Match,
    timeout: Duration,
    max_lines: usize,
    max_bytes: usize,
    held: HeldBytes,
}

impl Rules {
    /// Compiles the settings (the pattern was validated when the config was read).
    pub(crate) fn new(cfg: &MultilineConfig) -> Result<Arc<Self>, regex::Error> {
        Ok(Arc::new(Rules {
            pattern: regex::bytes::Regex::new(&cfg.pattern)?,
            test: None,
            split: false,
            negate: cfg.negate,
            match_: cfg.match_,
            timeout: cfg.timeout,
            max_lines: cfg.max_lines.max(1),
            max_bytes: cfg.max_bytes.max(1),
            held: HeldBytes::new(cfg.max_held_bytes),
        }))
    }

    /// The bytes every file's joiner holds (`multiline.maxHeldBytes`).
    pub(crate) fn held(&self) -> &HeldBytes {
        &self.held
    }

    /// Rules with a source's own continuation test (`match = before`: a continuation line
    /// joins the line after it), no limit on lines, and events split at `max_bytes` rather
    /// than cut ([`Joiner::push_each`]).
    pub(crate) fn split_by(
        test: fn(&[u8]) -> bool,
        max_bytes: usize,
        timeout: Duration,
        max_held_bytes: u64,
    ) -> Arc<Self> {
        Arc::new(Rules {
            pattern: regex::bytes::Regex::new("$^").unwrap_or_else(|_| unreachable_regex()),
            test: Some(test),
            split: true,
            negate: false,
            match_: Match::Before,
            timeout,
            max_lines: usize::MAX,
            max_bytes: max_bytes.max(1),
            held: HeldBytes::new(max_held_bytes.max(max_bytes as u64)),
        })
    }

    fn continues(&self, line: &[u8]) -> bool {
        match self.test {
            Some(t) => t(line),
            None => self.pattern.is_match(line) != self.negate,
        }
    }
}

/// A regex that compiles (the literal `$^` always does; this is never reached).
#[cold]
fn unreachable_regex() -> regex::bytes::Regex {
    regex::bytes::RegexBuilder::new("a^")
        .build()
        .unwrap_or_else(|_| unreachable_regex())
}

/// One whole event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    /// The lines joined by `\n` (cut at `maxBytes`).
    pub bytes: Vec<u8>,
    /// File offset of its first line.
    pub offset: u64,
    /// File offset after its last line (newline included).
    pub end: u64,
    /// Lines it was made of (dropped ones included).
    pub lines: usize,
    /// Whether lines were dropped (`maxLines`) or bytes cut (`maxBytes`).
    pub truncated: bool,
}

impl Joined {
    /// As a line of the file sources (offset, bytes consumed; `complete` false when the
    /// event was cut or split at `maxBytes`).
    pub(crate) fn into_line(self) -> Line {
        Line {
            consumed: self.end - self.offset,
            offset: self.offset,
            bytes: self.bytes,
            complete: !self.truncated,
        }
    }
}

#[derive(Debug)]
struct Pending {
    ev: Joined,
    /// `match = before`: whether the line being glued from pieces is a continuation.
    line_continues: bool,
    /// The line being glued from pieces was dropped (`maxLines`).
    line_dropped: bool,
}

/// Joins the lines of one file.
#[derive(Debug)]
pub(crate) struct Joiner {
    rules: Arc<Rules>,
    pending: Option<Pending>,
    /// The last line pushed was a piece: the next piece continues it.
    mid_line: bool,
    /// When the last line (or piece) was pushed.
    last_push: Option<Instant>,
    /// The held event's bytes as counted in `rules.held`.
    held: usize,
    /// Split mode: the event handed out last reached `maxBytes`; the next one continues it.
    cut_next: bool,
    /// The source asked for the held event now (the largest when over `maxHeldBytes`).
    release: bool,
}

/// What one push hands out: at most two events, in file order (the event a new line ended,
/// and that new line's event when it alone does not fit in `multiline.maxHeldBytes`).
pub(crate) type Emitted = [Option<Joined>; 2];

impl Joiner {
    /// An empty joiner.
    pub(crate) fn new(rules: Arc<Rules>) -> Self {
        Joiner {
            rules,
            pending: None,
            mid_line: false,
            last_push: None,
            held: 0,
            release: false,
            cut_next: false,
        }
    }

    /// Feeds the next line as [`Joiner::push`] does, the events it completed into `out`. With
    /// [`Rules::split_by`], a line longer than `maxBytes` goes in as pieces of at most that,
    /// and an event that would grow past it is handed out first (marked `truncated`, as is
    /// the event that continues it): no byte is cut off.
    pub(crate) fn push_each(&mut self, line: Line, now: Instant, out: &mut Vec<Joined>) {
        if !self.rules.split {
            out.extend(self.push(line, now).into_iter().flatten());
            return;
        }
        let max = self.rules.max_bytes;
        for piece in pieces(line, max) {
            let sep = usize::from(!self.mid_line);
            let over = self
                .pending
                .as_ref()
                .is_some_and(|p| p.ev.bytes.len() + sep + piece.bytes.len() > max);
            if over {
                if let Some(mut ev) = self.flush() {
                    ev.truncated = true;
                    self.cut_next = true;
                    out.push(ev);
                }
            }
            out.extend(self.push(piece, now).into_iter().flatten());
        }
    }

    /// Bytes of the held event.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held
    }

    /// Asks for the held event at the next chance (as if its time-out passed).
    pub(crate) fn release(&mut self) {
        self.release = self.pending.is_some();
    }

    /// Counts the held event in `rules.held`; one that would take the source's sum over
    /// `multiline.maxHeldBytes` is handed out instead.
    fn account(&mut self) -> Option<Joined> {
        let mut new = self.pending.as_ref().map_or(0, |p| p.ev.bytes.len());
        let mut early = None;
        if !self.rules.held.fits(self.held, new) {
            self.mid_line = false;
            early = self.pending.take().map(|p| p.ev);
            new = 0;
        }
        self.rules.held.update(self.held, new);
        self.held = new;
        if self.pending.is_none() {
            self.release = false;
        }
        early
    }

    /// Whether lines are held that were not handed out.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// The offset before which every line pushed was handed out: `read_to` (the offset after
    /// the last line pushed) when nothing is held, else the first held line's offset.
    pub(crate) fn safe_offset(&self, read_to: u64) -> u64 {
        self.pending.as_ref().map_or(read_to, |p| p.ev.offset)
    }

    /// Whether the held event's last line is at least `multiline.timeout` old at `now`.
    /// Also true once the source asked for the event ([`Joiner::release`]).
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.pending.is_some()
            && (self.release
                || self
                    .last_push
                    .is_some_and(|t| now.saturating_duration_since(t) >= self.rules.timeout))
    }

    /// Forgets what is held (the file was truncated and is read again from its start).
    pub(crate) fn reset(&mut self) {
        self.pending = None;
        self.mid_line = false;
        self.last_push = None;
        self.account();
    }

    /// Hands out the held event, if any (end of file, time-out, the file going away).
    pub(crate) fn flush(&mut self) -> Option<Joined> {
        self.mid_line = false;
        let ev = self.pending.take().map(|p| p.ev);
        self.account();
        ev
    }

    /// Feeds the next line (or piece of a long line) of the file; returns the events it
    /// completed: the one it ended, and its own when it does not fit in
    /// `multiline.maxHeldBytes` (handed out early, as a time-out would).
    pub(crate) fn push(&mut self, line: Line, now: Instant) -> Emitted {
        let out = self.push_line(line, now);
        let early = self.account();
        match out {
            None => [early, None],
            out => [out, early],
        }
    }

    fn push_line(&mut self, line: Line, now: Instant) -> Option<Joined> {
        self.last_push = Some(now);
        let end = line.offset + line.consumed;
        let glued = std::mem::replace(&mut self.mid_line, !line.complete);
        if glued {
            if let Some(p) = self.pending.as_mut() {
                p.ev.end = end;
                if !p.line_dropped {
                    append(&mut p.ev, &line.bytes, self.rules.max_bytes);
                }
                let ends = self.rules.match_ == Match::Before && line.complete && !p.line_continues;
                return if ends { self.flush() } else { None };
            }
        }
        let continues = self.rules.continues(&line.bytes);
        let mut out = None;
        match self.rules.match_ {
            Match::After => {
                if !continues || self.pending.is_none() {
                    out = self.pending.take().map(|p| p.ev);
                    self.start(line, end, continues);
                } else {
                    self.join(line, end, continues);
                }
            }
            Match::Before => {
                let complete = line.complete;
                if self.pending.is_none() {
                    self.start(line, end, continues);
                } else {
                    self.join(line, end, continues);
                }
                if complete && !continues {
                    out = self.flush();
                }
            }
        }
        out
    }

    fn start(&mut self, line: Line, end: u64, continues: bool) {
        let mut ev = Joined {
            bytes: Vec::new(),
            offset: line.offset,
            end,
            lines: 1,
            truncated: std::mem::take(&mut self.cut_next),
        };
        if line.bytes.len() <= self.rules.max_bytes {
            // The line's own buffer: a line that is an event alone is not copied.
            ev.bytes = line.bytes;
        } else {
            append(&mut ev, &line.bytes, self.rules.max_bytes);
        }
        self.pending = Some(Pending {
            ev,
            line_continues: continues,
            line_dropped: false,
        });
    }

    fn join(&mut self, line: Line, end: u64, continues: bool) {
        let max_lines = self.rules.max_lines;
        let max_bytes = self.rules.max_bytes;
        let Some(p) = self.pending.as_mut() else {
            return self.start(line, end, continues);
        };
        p.ev.end = end;
        p.ev.lines += 1;
        p.line_continues = continues;
        p.line_dropped = p.ev.lines > max_lines;
        if p.line_dropped {
            p.ev.truncated = true;
            return;
        }
        append(&mut p.ev, b"\n", max_bytes);
        append(&mut p.ev, &line.bytes, max_bytes);
    }
}

/// `line` as pieces of at most `max` bytes (itself when it fits): every piece but the last
/// is incomplete, and consumes its own bytes.
fn pieces(line: Line, max: usize) -> Vec<Line> {
    if line.bytes.len() <= max {
        return vec![line];
    }
    let n = line.bytes.len().div_ceil(max);
    let mut out = Vec::with_capacity(n);
    let mut at = 0usize;
    for (i, chunk) in line.bytes.chunks(max).enumerate() {
        let last = i + 1 == n;
        let consumed = if last {
            line.consumed.saturating_sub(at as u64)
        } else {
            chunk.len() as u64
        };
        out.push(Line {
            bytes: chunk.to_vec(),
            offset: line.offset + at as u64,
            consumed,
            complete: last && line.complete,
        });
        at += chunk.len();
    }
    out
}

/// Appends `bytes` to the event, cut at `max` bytes in all.
fn append(ev: &mut Joined, bytes: &[u8], max: usize) {
    let room = max.saturating_sub(ev.bytes.len());
    if bytes.len() > room {
        ev.truncated = true;
    }
    ev.bytes.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

impl Drop for Joiner {
    fn drop(&mut self) {
        self.rules.held.update(self.held, 0);
    }
}

#[cfg(test)]
#[path = "joiner_tests.rs"]
mod tests;
