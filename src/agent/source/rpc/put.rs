//! Putting an RPC call's events (the avro and thrift sources): the source's counters, the
//! tap, the channel processor, and whether to answer `OK`. A [`Putter`] is owned (no borrow
//! of the connection's task), so a call decoded on the blocking pool is put on the same thread
//! ([`Putter::put_blocking`]) instead of going back to the async workers and out again for the
//! file channel's commit.

use std::sync::Arc;

use tracing::Instrument;

use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::router::{BlockingRouter, ChannelProcessor, RouteError};
use crate::agent::source::peer_origins::{OriginQuotas, PeerOrigins};
use crate::agent::source::SourceCtx;
use crate::agent::tap;
use sluice_core::Event;

/// What putting a call needs of its source.
#[derive(Clone)]
pub(crate) struct Putter {
    name: Arc<str>,
    /// "avro" or "thrift", for the log line of a failed call.
    protocol: &'static str,
    counters: Arc<CounterGroup>,
    router: Arc<ChannelProcessor>,
    /// The router's put on the blocking thread that decoded a call, when it has one (taken
    /// once, as the source starts: [`ChannelProcessor::blocking`]).
    blocking: Option<BlockingRouter>,
    /// The event-id origins of one connection, when the source takes ids.
    origins: Option<Arc<PeerOrigins>>,
    /// The connection's peer, when the source takes ids: a put on the blocking thread runs in
    /// a span naming it, so the channel's WARN about a duplicate that differs from the event
    /// it kept (a copied upstream, `channel/dedup/notes.rs`) names the peer that sent it.
    peer: Option<std::net::SocketAddr>,
}

impl Putter {
    pub(crate) fn of(ctx: &SourceCtx, protocol: &'static str) -> Self {
        Putter {
            name: Arc::from(ctx.name.as_str()),
            protocol,
            counters: ctx.counters.clone(),
            router: ctx.router.clone(),
            blocking: ctx.router.blocking(),
            origins: None,
            peer: None,
        }
    }

    /// The putter of one connection from `peer`: when the source takes event ids, the origins
    /// the peer's address may bring are bounded by the source's `quotas` (`peer_origins.rs`).
    pub(crate) fn for_peer(
        mut self,
        peer: std::net::SocketAddr,
        quotas: &Arc<OriginQuotas>,
    ) -> Self {
        if self.router.trusts_event_ids() {
            self.peer = Some(peer);
            self.origins = Some(Arc::new(PeerOrigins::new(
                self.name.clone(),
                peer,
                self.counters.clone(),
                quotas.clone(),
            )));
        }
        self
    }

    /// The span a put runs in: `put{peer=...}` when the source takes ids, else none.
    fn span(&self) -> tracing::Span {
        match self.peer {
            Some(peer) => tracing::warn_span!("put", peer = %peer),
            None => tracing::Span::none(),
        }
    }

    /// Applies the connection's bound on origins to `events`.
    fn bound(&self, events: &mut [Event]) {
        if let Some(o) = &self.origins {
            o.admit(events, &|origin| {
                self.router.channels().holds_event_origin(origin)
            });
        }
    }

    /// Puts one call's events from the connection's task; whether every required channel
    /// committed them (answer `OK`; else `FAILED`).
    pub(crate) async fn put(&self, batch: bool, mut events: Vec<Event>) -> bool {
        self.bound(&mut events);
        let n = self.received(batch, &events);
        let routed = self.router.process(events).instrument(self.span()).await;
        self.answered(batch, n, routed)
    }

    /// Puts the events of several calls (`batches`: whether each was an `appendBatch`) in one
    /// transaction, in order; whether every required channel committed them.
    pub(crate) async fn put_calls(&self, batches: &[bool], mut events: Vec<Event>) -> bool {
        self.bound(&mut events);
        let n = events.len() as u64;
        let c = &self.counters;
        for b in batches {
            c.add(call_counters(*b).0, 1);
        }
        c.add(SourceCounter::EventReceived, n);
        tap::offer(tap::Point::Source, &self.name, &events);
        match self.router.process(events).instrument(self.span()).await {
            Ok(()) => {
                for b in batches {
                    c.add(call_counters(*b).1, 1);
                }
                c.add(SourceCounter::EventAccepted, n);
                true
            }
            Err(e) => {
                c.add(SourceCounter::ChannelWriteFail, batches.len() as u64);
                tracing::warn!(source = %self.name, calls = batches.len(), events = n, error = %e, "{} calls answered FAILED", self.protocol);
                false
            }
        }
    }

    /// Most events one [`Putter::put_calls`] may carry (the channels' `transactionCapacity`).
    pub(crate) fn put_capacity(&self) -> usize {
        self.router.channels().put_capacity()
    }

    /// The router's put on the blocking thread, when it handed one out
    /// ([`ChannelProcessor::blocking`]): a call decoded on the blocking pool is then put there.
    pub(crate) fn blocking(&self) -> Option<&BlockingRouter> {
        self.blocking.as_ref()
    }

    /// [`Putter::put`] on the runtime's blocking pool (never on an async worker), through the
    /// router's blocking put `here` ([`Putter::blocking`]).
    pub(crate) fn put_blocking(
        &self,
        here: &BlockingRouter,
        batch: bool,
        mut events: Vec<Event>,
    ) -> bool {
        self.bound(&mut events);
        let n = self.received(batch, &events);
        let _in_peer = self.span().entered();
        let routed = here.process(events);
        self.answered(batch, n, routed)
    }

    fn received(&self, batch: bool, events: &[Event]) -> u64 {
        let n = events.len() as u64;
        let c = &self.counters;
        c.add(call_counters(batch).0, 1);
        c.add(SourceCounter::EventReceived, n);
        tap::offer(tap::Point::Source, &self.name, events);
        n
    }

    fn answered(&self, batch: bool, n: u64, routed: Result<(), RouteError>) -> bool {
        let c = &self.counters;
        match routed {
            Ok(()) => {
                c.add(call_counters(batch).1, 1);
                c.add(SourceCounter::EventAccepted, n);
                true
            }
            Err(e) => {
                c.add(SourceCounter::ChannelWriteFail, 1);
                tracing::warn!(source = %self.name, events = n, error = %e, "{} call answered FAILED", self.protocol);
                false
            }
        }
    }
}

/// The call counters (received, accepted) of an `appendBatch` (`batch`) or an `append`.
fn call_counters(batch: bool) -> (SourceCounter, SourceCounter) {
    if batch {
        (
            SourceCounter::AppendBatchReceived,
            SourceCounter::AppendBatchAccepted,
        )
    } else {
        (SourceCounter::AppendReceived, SourceCounter::AppendAccepted)
    }
}
