//! The start check of a `nats` sink with `stream` set: the stream exists at `url`, takes the
//! sink's subject and, with `exactlyOnce`, allows atomic batches and takes the progress
//! records' subjects. Each refusal is a [`StreamError`] naming the stream, the servers and
//! what to change.

use async_nats::jetstream::context::{GetStreamError, GetStreamErrorKind};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::ErrorCode;
use async_nats::Client;

use super::NatsSinkConfig;
use crate::agent::nats::subject::matches;

/// Why the sink's `stream` cannot take its messages.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    /// No stream of that name.
    #[error("stream {stream:?} does not exist at {url}: create it (docs/nats.md) or fix `stream`")]
    Missing {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
    },
    /// No JetStream answers there.
    #[error("the servers at {url} answer no JetStream request for stream {stream:?} ({source}): is JetStream enabled there (`jetstream {{ ... }}` in the server's config) and for this account?")]
    NoJetStream {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// The client's error.
        source: Box<GetStreamError>,
    },
    /// Another failure of the stream's info request.
    #[error("cannot read stream {stream:?} at {url}: {source}")]
    Read {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// The client's error.
        source: Box<GetStreamError>,
    },
    /// The sink's fixed subject is outside the stream's subjects.
    #[error("stream {stream:?} at {url} does not take subject {subject:?} (its subjects: {subjects:?}); fix `subject` or the stream")]
    Subject {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// `subject`.
        subject: String,
        /// The stream's subjects.
        subjects: Vec<String>,
    },
    /// `exactlyOnce` needs atomic batches.
    #[error("stream {stream:?} at {url} does not allow atomic batch publish, which exactlyOnce needs: set allow_atomic (nats-server 2.12+), or exactlyOnce = false")]
    NoAtomic {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
    },
    /// `exactlyOnce` needs the progress records' subjects in the stream.
    #[error("stream {stream:?} at {url} does not take the progress records' subjects {progress}.* (its subjects: {subjects:?}): add them to the stream, or set progressSubject")]
    NoProgress {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// `progressSubject`.
        progress: String,
        /// The stream's subjects.
        subjects: Vec<String>,
    },
}

/// The stream `name`, if it exists and can take what a sink of `cfg` publishes.
pub(crate) async fn check_stream(
    cfg: &NatsSinkConfig,
    client: &Client,
    name: &str,
) -> Result<Stream, StreamError> {
    let js = async_nats::jetstream::new(client.clone());
    let (stream, url) = (name.to_owned(), cfg.conn.url());
    let found = match js.get_stream(name).await {
        Ok(s) => s,
        Err(e) => {
            return Err(match e.kind() {
                GetStreamErrorKind::JetStream(j)
                    if j.error_code() == ErrorCode::STREAM_NOT_FOUND =>
                {
                    StreamError::Missing { stream, url }
                }
                GetStreamErrorKind::Request => StreamError::NoJetStream {
                    stream,
                    url,
                    source: Box::new(e),
                },
                _ => StreamError::Read {
                    stream,
                    url,
                    source: Box::new(e),
                },
            })
        }
    };
    let info = &found.cached_info().config;
    let covered = |s: &str| info.subjects.iter().any(|f| matches(f, s));
    if !cfg.subject.contains("%{") && !covered(&cfg.subject) {
        return Err(StreamError::Subject {
            stream,
            url,
            subject: cfg.subject.clone(),
            subjects: info.subjects.clone(),
        });
    }
    if cfg.exactly_once {
        if !info.allow_atomic_publish {
            return Err(StreamError::NoAtomic { stream, url });
        }
        if !covered(&format!("{}.0000000000000000", cfg.progress_subject)) {
            return Err(StreamError::NoProgress {
                stream,
                url,
                progress: cfg.progress_subject.clone(),
                subjects: info.subjects.clone(),
            });
        }
    }
    Ok(found)
}
