//! Poison events: events a sink can never deliver, whatever the retries (a header that makes
//! an impossible file name, a record over the destination's size limit, an HTTP status that
//! refuses the event itself). A sink reports them apart from a retryable batch failure
//! ([`super::Sink::take_poisoned`]), having delivered the rest of the batch; the runner hands
//! them to the sink's [`PoisonHandler`] before it commits the take, so they are never taken
//! again and the batch's good events are never delivered twice.
//!
//! The handler counts them (`EventPoisonCount`, and `EventDeadLetterCount` for those written
//! to the dead letter), logs each once with its reason and the dead letter's path (at most
//! [`POISON_LOG_LINES_MAX`] lines per [`POISON_LOG_WINDOW`] and sink, then one line with how
//! many were not logged), and appends them as JSON lines to the sink's dead letter
//! ([`dead_letter`]: by default a bounded directory beside the channel; fsynced before the
//! take commits), or drops them only with `deadLetter.drop = true`. A dead letter that
//! cannot be written, or is full, fails the batch: it is rolled back and delivered again (its
//! good events become duplicates, as after any failure; never a loss).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the poison dead-letter file is on the real disk and tested there (DESIGN.md, the agent's std::fs rule)"
)]

pub mod dead_letter;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::agent::metrics::{CounterGroup, SinkCounter};
pub use dead_letter::{DeadLetter, DeadLetterError, DEAD_LETTER_SUFFIX};
use sluice_core::Event;

/// An event a sink can never deliver, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poisoned {
    /// The event, as taken from the channel.
    pub event: Event,
    /// Why it can never be delivered, naming the header or value that caused it.
    pub reason: String,
}

/// Most poison log lines per sink in one [`POISON_LOG_WINDOW`] (one remote client must not
/// flood the log).
pub(crate) const POISON_LOG_LINES_MAX: u32 = 10;
/// The window of [`POISON_LOG_LINES_MAX`].
pub(crate) const POISON_LOG_WINDOW: Duration = Duration::from_secs(10);
/// How often a full dead letter is said again while the sink stalls on it.
pub(crate) const FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Longest reason logged, in characters (the rest is cut, marked with `…`).
pub(crate) const REASON_CHARS_MAX: usize = 512;

/// `s` with every control character escaped (`\n`, `\u{1b}`, ...) and cut at `max` characters,
/// so no text from an event can forge a log line or reach a terminal raw.
pub(crate) fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// One dead-letter record: a JSON object on one line.
pub(crate) fn dead_letter_line(sink: &str, p: &Poisoned, time_ms: u64) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    obj.insert("timeMs".into(), time_ms.into());
    obj.insert("sink".into(), sink.into());
    obj.insert("reason".into(), p.reason.as_str().into());
    obj.insert(
        "headers".into(),
        serde_json::Value::Object(
            p.event
                .headers
                .iter()
                .map(|(k, v)| (k.to_owned(), v.into()))
                .collect(),
        ),
    );
    match std::str::from_utf8(&p.event.body) {
        Ok(text) => obj.insert("body".into(), text.into()),
        Err(_) => obj.insert(
            "bodyBase64".into(),
            base64::engine::general_purpose::STANDARD
                .encode(&p.event.body)
                .into(),
        ),
    };
    let mut line = serde_json::to_vec(&serde_json::Value::Object(obj)).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Counts, logs and dead-letters (or, with `deadLetter.drop = true`, drops) one sink's
/// poison events.
#[derive(Debug)]
pub struct PoisonHandler {
    sink: String,
    dead_letter: DeadLetter,
    window_start: Option<Instant>,
    logged: u32,
    not_logged: u64,
    full_said: Option<Instant>,
}

impl PoisonHandler {
    /// The handler of sink `sink`: `Some(dir)` writes to `dir` with the default bound, `None`
    /// drops (as `deadLetter.drop = true`; the agent builds its handlers with [`Self::with`]).
    pub fn new(sink: &str, dead_letter: Option<PathBuf>) -> Self {
        Self::with(
            sink,
            dead_letter.map_or(DeadLetter::Drop, DeadLetter::in_dir),
        )
    }

    /// The handler of sink `sink` with its resolved `deadLetter.*` keys.
    pub fn with(sink: &str, dead_letter: DeadLetter) -> Self {
        PoisonHandler {
            sink: sink.to_owned(),
            dead_letter,
            window_start: None,
            logged: 0,
            not_logged: 0,
            full_said: None,
        }
    }

    /// The dead-letter file, unless poison events are dropped.
    pub(crate) fn dead_letter_file(&self) -> Option<PathBuf> {
        match &self.dead_letter {
            DeadLetter::Write { dir, .. } => {
                Some(dir.join(format!("{}{DEAD_LETTER_SUFFIX}", self.sink)))
            }
            DeadLetter::Drop => None,
        }
    }

    /// Writes the events to the dead letter (durably, on a blocking thread; unless dropping),
    /// then counts and logs them. An error (the dead letter could not be written, or is full:
    /// said here as a WARN, at most once per [`FULL_LOG_INTERVAL`]) leaves nothing counted:
    /// the caller rolls the batch back. Cancel safety: not cancel safe (the write may have
    /// happened).
    pub(crate) async fn handle(
        &mut self,
        poisoned: Vec<Poisoned>,
        counters: &CounterGroup,
    ) -> Result<(), DeadLetterError> {
        if poisoned.is_empty() {
            return Ok(());
        }
        let n = poisoned.len() as u64;
        let file = self.dead_letter_file();
        let poisoned = match (&self.dead_letter, &file) {
            (DeadLetter::Write { dir, max_bytes }, Some(file)) => {
                let (dir, path, sink, max) =
                    (dir.clone(), file.clone(), self.sink.clone(), *max_bytes);
                let job = tokio::task::spawn_blocking(move || {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    let mut bytes = Vec::new();
                    for p in &poisoned {
                        bytes.extend_from_slice(&dead_letter_line(&sink, p, now));
                    }
                    let r = dead_letter::append_bounded(&dir, &path, &bytes, max);
                    (poisoned, r)
                });
                let (poisoned, r) = job.await.map_err(DeadLetterError::Writer)?;
                if let Err(e) = r {
                    self.say_full(&e);
                    return Err(e);
                }
                self.full_said = None;
                counters.add(SinkCounter::EventDeadLetter, n);
                poisoned
            }
            _ => poisoned,
        };
        counters.add(SinkCounter::EventPoison, n);
        self.log(&poisoned, file.as_deref());
        Ok(())
    }

    /// The WARN of a full dead letter: when it first fills, then once per
    /// [`FULL_LOG_INTERVAL`] while the sink stalls on it.
    fn say_full(&mut self, e: &DeadLetterError) {
        if !matches!(e, DeadLetterError::Full { .. }) {
            return;
        }
        let now = Instant::now();
        if self
            .full_said
            .is_some_and(|t| now.duration_since(t) < FULL_LOG_INTERVAL)
        {
            return;
        }
        self.full_said = Some(now);
        tracing::warn!(sink = %self.sink, error = %e,
            "poison events not set aside: the batch is rolled back, nothing of it is lost or committed, and the sink retries after its backoff");
    }

    /// Logs each poison event once, within [`POISON_LOG_LINES_MAX`] per window.
    fn log(&mut self, poisoned: &[Poisoned], file: Option<&std::path::Path>) {
        let now = Instant::now();
        if self
            .window_start
            .is_none_or(|t| now.duration_since(t) >= POISON_LOG_WINDOW)
        {
            if self.not_logged > 0 {
                tracing::warn!(sink = %self.sink, not_logged = self.not_logged,
                    "more poison events in the last window than were logged (see EventPoisonCount)");
            }
            self.window_start = Some(now);
            self.logged = 0;
            self.not_logged = 0;
        }
        let fate = match file {
            Some(f) => format!("written to the dead letter {}", f.display()),
            None => "dropped (deadLetter.drop = true)".to_owned(),
        };
        for p in poisoned {
            if self.logged >= POISON_LOG_LINES_MAX {
                self.not_logged += 1;
                continue;
            }
            self.logged += 1;
            tracing::warn!(sink = %self.sink, reason = %printable(&p.reason, REASON_CHARS_MAX),
                "poison event: it can never be delivered; {fate}; the rest of its batch goes on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poisoned(body: &[u8], header: (&str, &str)) -> Poisoned {
        let mut event = Event::new(body.to_vec());
        event.headers.insert(header.0, header.1);
        Poisoned {
            event,
            reason: format!("header {}={:?} is impossible", header.0, header.1),
        }
    }

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(printable("a\nb\u{1b}[31m", 100), "a\\nb\\u{1b}[31m");
        assert_eq!(printable("abcdef", 3), "abc…");
    }

    #[test]
    fn a_dead_letter_line_keeps_headers_and_body_and_base64s_binary() {
        let p = poisoned(b"hello", ("app", "../x"));
        let line = dead_letter_line("k1", &p, 7);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["sink"], "k1");
        assert_eq!(v["timeMs"], 7);
        assert_eq!(v["headers"]["app"], "../x");
        assert_eq!(v["body"], "hello");
        let bin = poisoned(&[0xff, 0x00], ("a", "b"));
        let v: serde_json::Value =
            serde_json::from_slice(&dead_letter_line("k1", &bin, 7)).unwrap();
        assert_eq!(v["bodyBase64"], "/wA=");
        assert!(v.get("body").is_none());
    }

    #[tokio::test]
    async fn poison_events_are_counted_and_appended_to_the_dead_letter() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("dead");
        let mut h = PoisonHandler::new("k1", Some(dir.clone()));
        let c = CounterGroup::sink();
        h.handle(
            vec![poisoned(b"1", ("a", "x")), poisoned(b"2", ("a", "y"))],
            &c,
        )
        .await
        .unwrap();
        h.handle(vec![poisoned(b"3", ("a", "z"))], &c)
            .await
            .unwrap();
        assert_eq!(c.get("EventPoisonCount"), 3);
        assert_eq!(c.get("EventDeadLetterCount"), 3);
        let text = std::fs::read_to_string(dir.join("k1.deadletter.jsonl")).unwrap();
        let bodies: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["body"].to_string())
            .collect();
        assert_eq!(bodies, ["\"1\"", "\"2\"", "\"3\""]);
    }

    #[tokio::test]
    async fn with_drop_configured_poison_events_are_counted_and_dropped() {
        let mut h = PoisonHandler::with("k1", DeadLetter::Drop);
        let c = CounterGroup::sink();
        h.handle(vec![poisoned(b"1", ("a", "x"))], &c)
            .await
            .unwrap();
        assert_eq!(c.get("EventPoisonCount"), 1);
        assert_eq!(c.get("EventDeadLetterCount"), 0);
    }

    #[tokio::test]
    async fn a_dead_letter_that_cannot_be_written_is_an_error_and_counts_nothing() {
        let d = tempfile::tempdir().unwrap();
        let blocker = d.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        // A directory under a regular file cannot be created.
        let mut h = PoisonHandler::new("k1", Some(blocker.join("dead")));
        let c = CounterGroup::sink();
        let e = h
            .handle(vec![poisoned(b"1", ("a", "x"))], &c)
            .await
            .unwrap_err();
        assert!(matches!(e, DeadLetterError::Write { .. }), "{e}");
        assert_eq!(c.get("EventPoisonCount"), 0);
    }

    #[tokio::test]
    async fn a_full_dead_letter_refuses_the_events_counts_nothing_and_says_what_to_do() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("dead");
        let line = dead_letter_line("k1", &poisoned(b"1", ("a", "x")), 0).len() as u64;
        // Room for two events (their time may take a few more digits than 0).
        let max_bytes = 2 * (line + 16);
        let mut h = PoisonHandler::with(
            "k1",
            DeadLetter::Write {
                dir: dir.clone(),
                max_bytes,
            },
        );
        let c = CounterGroup::sink();
        let two = || vec![poisoned(b"1", ("a", "x")), poisoned(b"2", ("a", "y"))];
        h.handle(two(), &c).await.unwrap();
        let file = dir.join("k1.deadletter.jsonl");
        let before = std::fs::read(&file).unwrap();
        let e = h.handle(two(), &c).await.unwrap_err();
        let DeadLetterError::Full { path, max, .. } = &e else {
            panic!("not full: {e}");
        };
        assert_eq!((path, *max), (&file, max_bytes));
        let said = e.to_string();
        assert!(said.contains("move the file away"), "{said}");
        assert!(said.contains(&file.display().to_string()), "{said}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "nothing more written"
        );
        assert_eq!(c.get("EventPoisonCount"), 2, "only the first two");
        assert_eq!(c.get("EventDeadLetterCount"), 2);
    }
}
