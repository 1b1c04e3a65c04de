//! The `nats` sink's keys: the connection keys of [`crate::agent::nats::conn`], `subject`
//! (with Flume's `%{header}` escapes), `stream`, `batchSize` (100), `exactlyOnce` (true:
//! the atomic-batch protocol of docs/nats.md, which needs `stream`) and `progressSubject`
//! (`sluice.progress.<stream>`: where the per-origin progress records go; the stream must
//! take `<progressSubject>.*`) and `progressKeyFile` (the secret the records are signed
//! with; unset: `nats-progress.key` beside the channel, made on first use: `progress_key.rs`).

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::BATCH_SIZE_MAX;
use crate::agent::nats::conn::{self, ConnKeys};
use crate::agent::nats::subject::publish_problem;

use super::batch::BATCH_MESSAGES_MAX;
use super::progress_key::{default_path, KeySource};

/// `batchSize` default.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 100;
/// Largest `batchSize` with `exactlyOnce`: a batch of n events writes at most n progress
/// records (one per origin), and an atomic batch holds at most 1,000 messages.
pub(crate) const EXACTLY_ONCE_BATCH_MAX: u64 = (BATCH_MESSAGES_MAX / 2) as u64;

/// `nats` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatsSinkConfig {
    /// Servers, credentials, TLS, timeouts.
    pub(crate) conn: ConnKeys,
    /// `subject`, possibly with `%{header}` escapes.
    pub subject: String,
    /// `stream`: checked at start (and required with `exactlyOnce`).
    pub stream: Option<String>,
    /// `batchSize`: events per take transaction.
    pub batch_size: usize,
    /// `exactlyOnce`.
    pub exactly_once: bool,
    /// `progressSubject`: records go to `<progressSubject>.<origin>`.
    pub progress_subject: String,
    /// `progressKeyFile`, or the key file made beside the channel.
    pub(crate) progress_key: KeySource,
}

impl NatsSinkConfig {
    /// Puts the made key file beside the channel whose `checkpointDir` is `checkpoint_dir`
    /// (unless `progressKeyFile` names one).
    pub(crate) fn beside_channel(&mut self, checkpoint_dir: Option<&std::path::Path>) {
        if let KeySource::Made(_) = self.progress_key {
            self.progress_key = KeySource::Made(default_path(checkpoint_dir));
        }
    }
}

/// Reads a `nats` sink's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<NatsSinkConfig> {
    let conn = conn::read(cx);
    let subject = cx.required("subject").map(|s| s.trim().to_owned());
    if let Some(s) = &subject {
        // A template's escapes make tokens of their own; check it with them filled in.
        let sample = crate::agent::sink::kafka::placement::substitute(s, &sample_event(s));
        if let Some(why) = publish_problem(&sample) {
            cx.error("subject", format!("{s:?}: {why}"));
        }
    }
    let stream = cx
        .get("stream")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(s) = &stream {
        if s.contains(['.', '*', '>', ' ', '/', '\\']) {
            cx.error(
                "stream",
                format!("{s:?} is not a stream name (no . * > / \\ or space)"),
            );
        }
    }
    let exactly_once = cx.bool("exactlyOnce", true);
    if exactly_once && stream.is_none() {
        cx.error(
            "stream",
            "exactlyOnce (the default) needs the stream the subjects are stored in; name it, or set exactlyOnce = false (at least once, deduplicated only within the stream's duplicate_window)",
        );
    }
    let max = if exactly_once {
        EXACTLY_ONCE_BATCH_MAX
    } else {
        BATCH_SIZE_MAX
    };
    let batch_size = cx.u64("batchSize", BATCH_SIZE_DEFAULT, 1, max) as usize;
    let progress_subject = cx
        .get("progressSubject")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| format!("sluice.progress.{}", stream.as_deref().unwrap_or("none")));
    if let Some(why) = publish_problem(&format!("{progress_subject}.0000000000000000")) {
        cx.error("progressSubject", format!("{progress_subject:?}: {why}"));
    }
    let progress_key = match cx.get("progressKeyFile").map(|s| s.trim().to_owned()) {
        Some(p) if p.is_empty() => {
            cx.error(
                "progressKeyFile",
                "must not be empty; leave it unset for a key made beside the channel",
            );
            None
        }
        Some(p) => Some(KeySource::Given(p.into())),
        None => Some(KeySource::Made(default_path(None))),
    };
    Some(NatsSinkConfig {
        conn: conn?,
        progress_key: progress_key?,
        subject: subject?,
        stream,
        batch_size,
        exactly_once,
        progress_subject,
    })
}

/// An event whose every header the template names is `x`.
fn sample_event(template: &str) -> sluice_core::Event {
    let mut e = sluice_core::Event::new("");
    let mut rest = template;
    while let Some(i) = rest.find("%{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else { break };
        e = e.header(&after[..j], "x");
        rest = &after[j + 1..];
    }
    e
}
