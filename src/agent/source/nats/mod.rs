//! The `nats` source (Sluice's own): a durable pull consumer (`consumer`, created if missing,
//! explicit acknowledgements) on `stream`, batches of up to `batchSize` messages, each put
//! into the channels in one transaction per channel.
//!
//! Delivery: a batch's messages are acknowledged only after the channel processor committed
//! the batch; the next batch is fetched while one is put (a fetch's round trip overlaps the
//! channel's commit). A crash between the two has the server deliver them again after `ackWait`;
//! each event's id comes from the stream and the message's stream sequence (`record.rs`), so
//! a file channel that committed the batch drops the redelivery: exactly once from the stream
//! into the channel. Explicit acknowledgements (the default) let several collectors share
//! one durable consumer (the scale-out of docs/nats.md) without one acknowledging another's
//! messages; `ackPolicy = all` acknowledges a batch at once, for a consumer one collector
//! reads (`acks.rs`). An existing consumer of another policy is refused, naming it.
//!
//! Progress records of a nats sink (`Sluice-Progress` header) are acknowledged and not put.
//! The connection and the consumer are retried every [`RETRY`] while they cannot be had,
//! the error logged and the `ConnectionDownMillis` gauge growing.

mod acks;
pub(crate) mod config;
pub(crate) mod record;

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::context::GetStreamError;
use async_nats::jetstream::stream::ConsumerError;
use async_nats::jetstream::Message;
use futures::StreamExt;

use acks::Acks;
pub(crate) use config::NatsSourceConfig;
use record::{origin, to_record, Record};

use super::{SourceCtx, SourceError};
use crate::agent::backoff::Backoff;
use crate::agent::failpoint;
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::nats::conn::ConnError;
use crate::agent::nats::{connect, DownSince};
use crate::agent::source::contract::{BACKOFF_MAX, BACKOFF_STEP};
use crate::agent::stop::Stop;
use sluice_core::Event;

/// Pause before trying again to connect or to get the consumer.
pub(crate) const RETRY: Duration = Duration::from_secs(2);
/// Longest a fetch waits for its first message.
pub(crate) const FETCH_EXPIRES: Duration = Duration::from_secs(1);

/// The consumer and what the events' ids are derived from.
struct Opened {
    client: async_nats::Client,
    consumer: Consumer<pull::Config>,
    origin: u64,
}

/// Runs the source until it is stopped.
pub(crate) async fn run(cfg: NatsSourceConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let down = DownSince::default();
    down.gauge(&ctx.counters);
    let mut stop = ctx.stop.clone();
    let opened = loop {
        match open(&cfg, &ctx.name, &down).await {
            Ok(o) => break o,
            Err(why) => {
                tracing::error!(source = %ctx.name, "{why}");
                if stop.sleep(RETRY).await {
                    return Ok(());
                }
            }
        }
    };
    let unacked = opened.consumer.cached_info().num_ack_pending;
    let mut acks = Acks::new(cfg.ack_policy, unacked);
    let mut next: Option<Vec<Message>> = None;
    while !ctx.stop.is_set() {
        let msgs = match next.take() {
            Some(m) => m,
            None => {
                let m = fetch(&cfg, &opened, &ctx.name, &ctx.counters, ctx.stop.clone()).await;
                acks.delivered(&m, &cfg.consumer, &ctx.name);
                m
            }
        };
        if msgs.is_empty() {
            continue;
        }
        let events = events(&msgs, opened.origin, &ctx);
        // The next batch is fetched while this one is put: the fetch's round trip to the
        // servers overlaps the channel's commit (a file channel's fsync). Its messages are
        // acknowledged only after their own commit.
        let (name, counters, stop) = (ctx.name.clone(), ctx.counters.clone(), ctx.stop.clone());
        let put_and_ack = async {
            let backoff = Backoff::linear(BACKOFF_STEP, BACKOFF_MAX);
            if !events.is_empty() && !ctx.put_with_backoff(events, backoff).await {
                // Stopped before the channel took the batch: not acknowledged, delivered
                // again.
                return false;
            }
            failpoint::hold(failpoint::NATS_SOURCE_CHANNEL_COMMITTED).await;
            if acks.committed(msgs, &name).await {
                let _ = opened.client.flush().await;
            }
            true
        };
        let fetch_next = fetch(&cfg, &opened, &name, &counters, stop);
        let (committed, fetched) = tokio::join!(put_and_ack, fetch_next);
        acks.delivered(&fetched, &cfg.consumer, &ctx.name);
        if !committed {
            break;
        }
        if acks.release(&fetched, &opened.consumer, &ctx.name).await {
            let _ = opened.client.flush().await;
        }
        next = Some(fetched);
    }
    Ok(())
}

/// Why the source has no consumer yet; each names the stream, the consumer and the servers.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnError),
    /// The stream cannot be read.
    #[error("cannot read stream {stream:?} at {url}: {source}; does it exist, and is JetStream enabled there?")]
    Stream {
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// The client's error.
        source: Box<GetStreamError>,
    },
    /// The durable consumer cannot be had.
    #[error("cannot get or create consumer {consumer:?} of stream {stream:?} at {url}: {source}")]
    Consumer {
        /// `consumer`.
        consumer: String,
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// The client's error.
        source: Box<ConsumerError>,
    },
    /// The existing consumer acknowledges otherwise than `ackPolicy` says.
    #[error("consumer {consumer:?} of stream {stream:?} at {url} has ack policy {has:?} and ackPolicy says {want:?}: a consumer's policy cannot change; set ackPolicy to match, or delete the consumer (nats consumer rm {stream} {consumer}) to have it made again")]
    Policy {
        /// `consumer`.
        consumer: String,
        /// `stream`.
        stream: String,
        /// `url`.
        url: String,
        /// The consumer's policy.
        has: AckPolicy,
        /// `ackPolicy`.
        want: AckPolicy,
    },
}

/// Connects, reads the stream's identity and gets (or creates) the durable consumer.
async fn open(cfg: &NatsSourceConfig, name: &str, down: &DownSince) -> Result<Opened, OpenError> {
    let client = connect(&format!("source {name}"), &cfg.conn, down.clone()).await?;
    let js = async_nats::jetstream::new(client.clone());
    let url = cfg.conn.url();
    let stream = js.get_stream(&cfg.stream).await.map_err(|source| {
        down.down();
        OpenError::Stream {
            stream: cfg.stream.clone(),
            url: url.clone(),
            source: Box::new(source),
        }
    })?;
    let info = stream.cached_info();
    let origin = origin(&info.config.name, info.created.unix_timestamp_nanos());
    let config = pull::Config {
        durable_name: Some(cfg.consumer.clone()),
        ack_policy: cfg.ack_policy,
        ack_wait: cfg.ack_wait,
        max_ack_pending: cfg.max_ack_pending,
        filter_subject: cfg.subject.clone().unwrap_or_default(),
        ..Default::default()
    };
    let consumer = stream
        .get_or_create_consumer(&cfg.consumer, config)
        .await
        .map_err(|source| OpenError::Consumer {
            consumer: cfg.consumer.clone(),
            stream: cfg.stream.clone(),
            url: url.clone(),
            source: Box::new(source),
        })?;
    let has = consumer.cached_info().config.ack_policy;
    if has != cfg.ack_policy {
        return Err(OpenError::Policy {
            consumer: cfg.consumer.clone(),
            stream: cfg.stream.clone(),
            url,
            has,
            want: cfg.ack_policy,
        });
    }
    tracing::info!(source = %name, stream = %cfg.stream, consumer = %cfg.consumer, origin = %format!("{origin:016x}"), "nats source consuming");
    Ok(Opened {
        client,
        consumer,
        origin,
    })
}

/// Up to `batchSize` messages, waiting at most [`FETCH_EXPIRES`] (or until stopped).
async fn fetch(
    cfg: &NatsSourceConfig,
    o: &Opened,
    source: &str,
    counters: &CounterGroup,
    mut stop: Stop,
) -> Vec<Message> {
    let mut out = Vec::new();
    let batch = o
        .consumer
        .fetch()
        .max_messages(cfg.batch_size)
        .expires(FETCH_EXPIRES)
        .messages()
        .await;
    let mut batch = match batch {
        Ok(b) => b,
        Err(e) => {
            counters.add(SourceCounter::GenericProcessingFail, 1);
            tracing::warn!(source = %source, error = %e, "fetch failed");
            let _ = stop.sleep(RETRY).await;
            return out;
        }
    };
    loop {
        let next = tokio::select! {
            _ = stop.wait() => break,
            n = batch.next() => n,
        };
        match next {
            Some(Ok(m)) => out.push(m),
            Some(Err(e)) => {
                tracing::debug!(source = %source, error = %e, "fetch ended");
                break;
            }
            None => break,
        }
    }
    out
}

/// The batch's events (progress records and unnumbered messages left out).
fn events(msgs: &[Message], origin: u64, ctx: &SourceCtx) -> Vec<Event> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        match to_record(m, origin) {
            Record::Event(e) => out.push(e),
            Record::Progress => {}
            Record::Unnumbered(why) => {
                ctx.counters.add(SourceCounter::EventReadFail, 1);
                tracing::warn!(source = %ctx.name, subject = %m.subject, "message without a stream sequence skipped: {why}");
            }
        }
    }
    out
}

impl crate::agent::source::BuildSource for NatsSourceConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
