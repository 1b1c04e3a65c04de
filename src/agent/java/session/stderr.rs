//! The JVM's stderr (the plugin's `System.out` and `System.err`, the shim's slf4j) logged
//! under the component's name, each line at the level it names (or the level of the line
//! before, for a stack trace), cut at [`LOG_LINE_MAX`], and bounded: at most
//! [`OUTPUT_LINES_PER_SEC_MAX`] lines and [`OUTPUT_BYTES_PER_SEC_MAX`] bytes a second per
//! JVM reach the agent's log; the rest are counted and said once a second in one line
//! (`plugin i1: 12,345 lines of output not logged in the last second`).
//!
//! The pipe is drained by a thread of its own at a lower CPU priority ([`DRAIN_NICE`]), in
//! large reads, lines over the budget counted with `memchr` and discarded: a chatty plugin
//! costs the agent's runtime threads nothing, and its JVM is never blocked for longer than
//! the drain takes to catch up (a plugin that prints faster than that waits on its own pipe).

use std::io::Read;
use std::time::{Duration, Instant};

use super::LOG_LINE_MAX;

/// Most lines of one JVM's output logged per second.
pub(crate) const OUTPUT_LINES_PER_SEC_MAX: u32 = 200;
/// Most bytes of one JVM's output logged per second.
pub(crate) const OUTPUT_BYTES_PER_SEC_MAX: usize = 64 << 10;
/// The window of the budget and of the dropped-lines report.
const WINDOW: Duration = Duration::from_secs(1);
/// Bytes read from the pipe at once.
const READ_BYTES: usize = 64 << 10;
/// Nice steps the drain thread takes below the agent's threads.
const DRAIN_NICE: libc::c_int = 10;

/// Starts the thread that drains and logs `pipe`, the stderr of the JVM of component `name`
/// of class `class`.
pub(super) fn spawn_drain(pipe: std::process::ChildStderr, name: String, class: String) {
    let thread = std::thread::Builder::new()
        .name(format!("java-out-{name}"))
        .spawn(move || {
            crate::agent::nice::lower_this_thread(DRAIN_NICE);
            drain(pipe, &name, &class);
        });
    if let Err(e) = thread {
        tracing::warn!(error = %e, "cannot start the thread that logs a Java plugin's output; its output is lost");
    }
}

/// The per-second budget of one JVM's output.
#[derive(Debug)]
pub(crate) struct Budget {
    began: Instant,
    lines: u32,
    bytes: usize,
    dropped: u64,
}

impl Budget {
    /// A budget whose first window begins `now`.
    pub(crate) fn new(now: Instant) -> Budget {
        Budget {
            began: now,
            lines: 0,
            bytes: 0,
            dropped: 0,
        }
    }

    /// Begins a new window when the current one is over: the lines dropped in it, if any.
    pub(crate) fn roll(&mut self, now: Instant) -> Option<u64> {
        if now.duration_since(self.began) < WINDOW {
            return None;
        }
        let dropped = std::mem::take(&mut self.dropped);
        *self = Budget::new(now);
        (dropped > 0).then_some(dropped)
    }

    /// Whether nothing more is logged in this window.
    pub(crate) fn exhausted(&self) -> bool {
        self.lines >= OUTPUT_LINES_PER_SEC_MAX || self.bytes >= OUTPUT_BYTES_PER_SEC_MAX
    }

    /// Whether a line of `len` bytes is logged (counted either way).
    pub(crate) fn admit(&mut self, len: usize) -> bool {
        if self.exhausted() {
            self.dropped += 1;
            return false;
        }
        self.lines += 1;
        self.bytes += len;
        true
    }

    /// Counts `n` lines dropped without a look.
    pub(crate) fn drop_lines(&mut self, n: u64) {
        self.dropped += n;
    }

    /// The lines dropped in this window so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// The line in progress and how lines are logged.
struct Lines<'a> {
    name: &'a str,
    class: &'a str,
    level: tracing::Level,
    line: Vec<u8>,
    /// The line in progress is dropped (its start was).
    dropping: bool,
}

impl Lines<'_> {
    /// A whole line (without its newline): logged if the budget admits it.
    fn finish(&mut self, budget: &mut Budget) {
        if std::mem::take(&mut self.dropping) {
            budget.drop_lines(1);
        } else if budget.admit(self.line.len()) {
            let text = String::from_utf8_lossy(&self.line);
            let (lvl, msg) = parse_log_line(text.trim_end(), self.level);
            self.level = lvl;
            log_at(lvl, self.name, self.class, msg);
        }
        self.line.clear();
    }

    /// Part of a line, kept up to [`LOG_LINE_MAX`] bytes.
    fn push(&mut self, part: &[u8]) {
        if !self.dropping {
            let room = LOG_LINE_MAX.saturating_sub(self.line.len());
            self.line.extend_from_slice(&part[..part.len().min(room)]);
        }
    }

    /// One read's bytes.
    fn chunk(&mut self, mut chunk: &[u8], budget: &mut Budget) {
        if chunk.is_empty() {
            return;
        }
        if budget.exhausted() {
            let ends = memchr::memchr_iter(b'\n', chunk).count() as u64;
            budget.drop_lines(ends);
            if ends > 0 {
                self.line.clear();
                self.dropping = false;
            }
            self.dropping |= !chunk.ends_with(b"\n");
            return;
        }
        while let Some(i) = memchr::memchr(b'\n', chunk) {
            self.push(&chunk[..i]);
            self.finish(budget);
            chunk = &chunk[i + 1..];
            if budget.exhausted() {
                return self.chunk(chunk, budget);
            }
        }
        self.push(chunk);
    }
}

/// Reads the pipe until the JVM closes it, logging within the budget.
fn drain(mut pipe: std::process::ChildStderr, name: &str, class: &str) {
    let mut buf = vec![0u8; READ_BYTES];
    let mut budget = Budget::new(Instant::now());
    let mut lines = Lines {
        name,
        class,
        level: tracing::Level::INFO,
        line: Vec::with_capacity(256),
        dropping: false,
    };
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if let Some(dropped) = budget.roll(Instant::now()) {
            report(name, class, dropped);
        }
        lines.chunk(&buf[..n], &mut budget);
    }
    if !lines.line.is_empty() || lines.dropping {
        lines.finish(&mut budget);
    }
    if budget.dropped() > 0 {
        report(name, class, budget.dropped());
    }
}

/// The one line that says how many lines were not logged.
fn report(name: &str, class: &str, dropped: u64) {
    tracing::warn!(
        component = %name,
        class = %class,
        dropped,
        "plugin {name}: {} lines of output not logged in the last second (at most {} lines \
         and {} KiB a second of a plugin's output are logged)",
        thousands(dropped),
        OUTPUT_LINES_PER_SEC_MAX,
        OUTPUT_BYTES_PER_SEC_MAX >> 10
    );
}

/// `n` with a comma between thousands (`12,345`).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Logs `msg` at `lvl` under the component.
fn log_at(lvl: tracing::Level, name: &str, class: &str, msg: &str) {
    match lvl {
        tracing::Level::ERROR => tracing::error!(component = %name, class = %class, "{msg}"),
        tracing::Level::WARN => tracing::warn!(component = %name, class = %class, "{msg}"),
        tracing::Level::INFO => tracing::info!(component = %name, class = %class, "{msg}"),
        tracing::Level::DEBUG => tracing::debug!(component = %name, class = %class, "{msg}"),
        tracing::Level::TRACE => tracing::trace!(component = %name, class = %class, "{msg}"),
    }
}

/// One stderr line's level and text; `before` is the level of the line before it.
pub(crate) fn parse_log_line(text: &str, before: tracing::Level) -> (tracing::Level, &str) {
    for (word, lvl) in [
        ("ERROR ", tracing::Level::ERROR),
        ("WARN ", tracing::Level::WARN),
        ("INFO ", tracing::Level::INFO),
        ("DEBUG ", tracing::Level::DEBUG),
        ("TRACE ", tracing::Level::TRACE),
    ] {
        if let Some(rest) = text.strip_prefix(word) {
            return (lvl, rest);
        }
    }
    let t = text.trim_start();
    if text.starts_with(char::is_whitespace) || t.starts_with("Caused by") || t.starts_with("...") {
        return (before, text);
    }
    (tracing::Level::INFO, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_lines_keep_their_level_and_stack_traces_follow_the_line_before() {
        assert_eq!(
            parse_log_line("WARN a.B hello", Level::INFO),
            (Level::WARN, "a.B hello")
        );
        assert_eq!(
            parse_log_line("\tat a.B.c(B.java:1)", Level::ERROR).0,
            Level::ERROR
        );
        assert_eq!(parse_log_line("Caused by: x", Level::WARN).0, Level::WARN);
        assert_eq!(parse_log_line("plain", Level::ERROR).0, Level::INFO);
    }

    #[test]
    fn a_window_logs_at_most_its_lines_and_reports_the_rest_when_it_ends() {
        let t0 = Instant::now();
        let mut b = Budget::new(t0);
        let admitted = (0..1000).filter(|_| b.admit(10)).count();
        assert_eq!(admitted, OUTPUT_LINES_PER_SEC_MAX as usize);
        assert_eq!(b.roll(t0 + Duration::from_millis(999)), None);
        assert_eq!(b.roll(t0 + WINDOW), Some(1000 - admitted as u64));
        assert!(b.admit(10), "a new window logs again");
        assert_eq!(
            b.roll(t0 + WINDOW * 2),
            None,
            "nothing dropped, nothing said"
        );
    }

    #[test]
    fn a_window_logs_at_most_its_bytes() {
        let mut b = Budget::new(Instant::now());
        let line = OUTPUT_BYTES_PER_SEC_MAX / 4;
        let admitted = (0..10).filter(|_| b.admit(line)).count();
        assert_eq!(admitted, 4);
        assert_eq!(b.dropped(), 6);
    }

    #[test]
    fn lines_past_the_budget_are_counted_whole_across_reads() {
        let mut b = Budget::new(Instant::now());
        let mut l = Lines {
            name: "i1",
            class: "a.B",
            level: Level::INFO,
            line: Vec::new(),
            dropping: false,
        };
        let many = "spam spam\n".repeat(OUTPUT_LINES_PER_SEC_MAX as usize + 50);
        l.chunk(many.as_bytes(), &mut b);
        assert_eq!(b.dropped(), 50);
        // A line cut between two reads is dropped once, as one line.
        l.chunk(b"half of a li", &mut b);
        l.chunk(b"ne\nnext\n", &mut b);
        assert_eq!(b.dropped(), 52);
        assert!(l.line.is_empty() && !l.dropping);
    }

    #[test]
    fn counts_are_written_with_thousands_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
