//! Test only: a sink that follows a script, for the runner's tests. It records every batch
//! it is handed (with when), fails the calls whose numbers are listed, answers "commit but
//! back off" for others, can set a stop signal during a chosen call, and notes another
//! sink's committed count at each call. With `acks_after` it hands batches over with their
//! acknowledgements still to come ([`Acks`], as the kafka sink), failing those of the calls
//! listed in `unacknowledged`. Events whose body is in `poison` are reported as poison
//! ([`Poisoned`]) instead of delivered. [`FailingCommits`] is a memory channel whose chosen
//! take commits fail.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Acks, Delivery, Poisoned, SinkError};
use crate::agent::channel::memory::MemoryChannel;
use crate::agent::channel::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::metrics::CounterGroup;
use crate::agent::stop::StopHandle;
use sluice_core::Event;

/// One call of `deliver`: the batch, when it came, and whether it was answered `Ok`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The batch handed to the sink.
    pub events: Vec<Event>,
    /// When.
    pub at: Instant,
    /// Whether the call returned `Ok` (and its acknowledgements, if any, too).
    pub ok: bool,
    /// The watched counter group's `EventDrainSuccessCount` when the call came.
    pub watched: u64,
}

/// The scripted sink; clones share their record of calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScriptedSink {
    /// Every call so far.
    pub calls: Arc<Mutex<Vec<Call>>>,
    /// Calls (numbered from 0) that fail.
    pub fail: BTreeSet<usize>,
    /// Calls that answer [`Delivery::CommitAndBackOff`].
    pub back_off: BTreeSet<usize>,
    /// Another sink's counters, read at each call (did its batches commit before?).
    pub watch: Option<Arc<CounterGroup>>,
    /// A call during which the stop signal is set.
    pub stop_at: Option<(usize, Arc<StopHandle>)>,
    /// Hand every batch over with acknowledgements that answer after this long.
    pub acks_after: Option<Duration>,
    /// Calls whose acknowledgements answer an error.
    pub unacknowledged: BTreeSet<usize>,
    /// The sink's pipeline depth, if not the default.
    pub depth: Option<usize>,
    /// The acknowledgements of the last call, for [`take_acks`](Self::take_acks).
    pub acks: Arc<Mutex<Option<Acks>>>,
    /// Bodies of events that can never be delivered.
    pub poison: BTreeSet<Vec<u8>>,
    /// The poison events of the last call, for [`take_poisoned`](Self::take_poisoned).
    pub poisoned: Vec<Poisoned>,
}

impl ScriptedSink {
    /// Records the batch and answers as scripted.
    pub(crate) async fn deliver(&mut self, events: Vec<Event>) -> Result<Delivery, SinkError> {
        let n = self.calls.lock().len();
        let watched = self
            .watch
            .as_ref()
            .map_or(0, |c| c.get("EventDrainSuccessCount"));
        if let Some((at, h)) = &self.stop_at {
            if *at == n {
                h.stop();
            }
        }
        // Let the runner's other work (a commit in flight) interleave with this call.
        tokio::task::yield_now().await;
        let ok = !self.fail.contains(&n);
        let acked = !self.unacknowledged.contains(&n);
        let (bad, events): (Vec<Event>, Vec<Event>) = events
            .into_iter()
            .partition(|e| self.poison.contains(&e.body[..]));
        self.poisoned = bad
            .into_iter()
            .map(|event| Poisoned {
                event,
                reason: "poison as scripted".into(),
            })
            .collect();
        self.calls.lock().push(Call {
            events,
            at: Instant::now(),
            ok: ok && acked,
            watched,
        });
        if let (true, Some(after)) = (ok, self.acks_after) {
            *self.acks.lock() = Some(Acks(Box::pin(async move {
                tokio::time::sleep(after).await;
                if acked {
                    Ok(())
                } else {
                    Err(SinkError::peer(
                        "scripted",
                        format!("call {n} is not acknowledged, as scripted"),
                    ))
                }
            })));
        }
        if !ok {
            return Err(SinkError::peer(
                "scripted",
                format!("call {n} fails as scripted"),
            ));
        }
        Ok(if self.back_off.contains(&n) {
            Delivery::CommitAndBackOff
        } else {
            Delivery::Done
        })
    }

    /// The acknowledgements of the last call, if handed over with them to come.
    pub(crate) fn take_acks(&mut self) -> Option<Acks> {
        self.acks.lock().take()
    }

    /// The poison events of the last call.
    pub(crate) fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }

    /// The events of the calls answered `Ok`, in order (poison ones left out).
    pub(crate) fn delivered(&self) -> Vec<Event> {
        self.calls
            .lock()
            .iter()
            .filter(|c| c.ok)
            .flat_map(|c| c.events.clone())
            .collect()
    }
}

impl crate::agent::sink::Sink for ScriptedSink {
    fn take_poisoned(&mut self) -> Vec<crate::agent::sink::Poisoned> {
        ScriptedSink::take_poisoned(self)
    }

    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(ScriptedSink::deliver(self, events))
    }

    fn take_acks(&mut self) -> Option<Acks> {
        ScriptedSink::take_acks(self)
    }

    fn pipeline_depth(&self) -> usize {
        self.depth.unwrap_or(super::PIPELINE_DEPTH)
    }
}

/// A memory channel whose take transaction holds the one taker from its first take until
/// it ends, as the kafka channel's consumer does ([`AgentChannel::concurrent_takes`] false).
#[derive(Debug)]
pub(crate) struct OneTaker {
    /// The channel.
    pub inner: Arc<MemoryChannel>,
    /// The taker a take transaction holds.
    pub taker: Arc<tokio::sync::Mutex<()>>,
}

struct OneTakerTx {
    inner: Box<dyn ChannelTx>,
    taker: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl AgentChannel for OneTaker {
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(OneTakerTx {
            inner: self.inner.begin(),
            taker: self.taker.clone(),
            held: None,
        })
    }
    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.inner.close()
    }
    fn counters(&self) -> Arc<CounterGroup> {
        self.inner.counters()
    }
    fn concurrent_takes(&self) -> bool {
        false
    }
}

impl ChannelTx for OneTakerTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.inner.put_all(events)
    }
    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async move {
            if self.held.is_none() {
                self.held = Some(self.taker.clone().lock_owned().await);
            }
            self.inner.take_up_to(max).await
        })
    }
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        let OneTakerTx { inner, held, .. } = *self;
        Box::pin(async move {
            let r = inner.commit().await;
            drop(held);
            r
        })
    }
    fn rollback(self: Box<Self>) -> BoxFuture<'static, ()> {
        let OneTakerTx { inner, held, .. } = *self;
        Box::pin(async move {
            inner.rollback().await;
            drop(held);
        })
    }
}

/// A memory channel whose take commits fail for the listed numbers (transactions that took
/// events are numbered as they take, which is the order the runner commits them); a failed
/// commit rolls the takes back, as the file channel does.
#[derive(Debug)]
pub(crate) struct FailingCommits {
    /// The channel.
    pub inner: Arc<MemoryChannel>,
    /// Numbers of the take transactions whose commit fails.
    pub fail: Arc<BTreeSet<usize>>,
    /// Take transactions so far.
    pub takes: Arc<AtomicUsize>,
}

struct FailingTx {
    inner: Box<dyn ChannelTx>,
    fail: Arc<BTreeSet<usize>>,
    takes: Arc<AtomicUsize>,
    fails: bool,
}

impl AgentChannel for FailingCommits {
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(FailingTx {
            inner: self.inner.begin(),
            fail: self.fail.clone(),
            takes: self.takes.clone(),
            fails: false,
        })
    }
    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.inner.close()
    }
    fn counters(&self) -> Arc<CounterGroup> {
        self.inner.counters()
    }
}

impl ChannelTx for FailingTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.inner.put_all(events)
    }
    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async move {
            let got = self.inner.take_up_to(max).await?;
            if !got.is_empty() {
                let n = self.takes.fetch_add(1, Ordering::SeqCst);
                self.fails = self.fail.contains(&n);
            }
            Ok(got)
        })
    }
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        if !self.fails {
            return self.inner.commit();
        }
        Box::pin(async move {
            self.inner.rollback().await;
            Err(AgentChannelError::Closed(
                "c1 (commit fails as scripted)".into(),
            ))
        })
    }
    fn rollback(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.inner.rollback()
    }
}
