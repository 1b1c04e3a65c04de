//! Flume's memory channel: a bounded in-memory queue with transactions.
//!
//! Capacity counts queued events plus events taken by open transactions (a rollback always
//! has room to put them back). A commit of puts waits up to `keep-alive` for room, counting
//! events against `capacity` and body bytes against `byteCapacity` less its
//! `byteCapacityBufferPercentage` (the share Flume sets aside for headers and overhead).
//! Without `byteCapacity` the limit is [`DEFAULT_RAM_DIVISOR`]th of physical memory, as Flume
//! defaults to 80% of the JVM heap. A commit that does not fit in time fails with
//! [`AgentChannelError::Full`]; the caller still holds its events and decides to retry.
//!
//! What it holds lives only in the process: it is [`Volatile`], so a stop (or a reload that
//! removes or changes it) lets its sinks take it for up to `drainTimeout` first
//! (`runtime::stopping::drain`), and its close counts what is left as lost
//! (`EventsLostAtStopCount`, and a WARN naming the channel and the number).

pub(crate) mod config;
mod taken;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::{
    put_each, AgentChannel, AgentChannelError, BoxFuture, ChannelTx, GroupOutcome, PutTerms,
    Refused, Volatile,
};
use crate::agent::metrics::CounterGroup;
use crate::agent::metrics::{ChannelCounter, ChannelGauge};
pub use config::MemoryConfig;
use sluice_core::Event;
use taken::Taken;

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<Event>,
    /// Events taken by open transactions.
    in_flight: u64,
    /// Body bytes of queued and in-flight events.
    bytes: u64,
    closed: bool,
}

/// Without `byteCapacity`, the byte limit is physical memory divided by this.
pub const DEFAULT_RAM_DIVISOR: u64 = 8;
/// The byte limit when physical memory cannot be read (1 GiB).
pub(crate) const DEFAULT_BYTE_CAPACITY_FALLBACK: u64 = 1 << 30;

/// Physical memory in bytes, if the system says.
fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| (pages as u64).saturating_mul(page as u64))
}

/// The body bytes a channel may hold: `byteCapacity` (or the default share of RAM) less
/// `byteCapacityBufferPercentage`.
pub fn byte_limit(cfg: &MemoryConfig) -> u64 {
    let total = cfg.byte_capacity.unwrap_or_else(|| {
        physical_memory()
            .map(|m| m / DEFAULT_RAM_DIVISOR)
            .unwrap_or(DEFAULT_BYTE_CAPACITY_FALLBACK)
    });
    let keep = 100 - cfg.byte_capacity_buffer_percentage.min(99);
    // 128-bit so that no byteCapacity can overflow.
    (total as u128 * keep as u128 / 100) as u64
}

#[derive(Debug)]
struct Shared {
    name: String,
    cfg: MemoryConfig,
    byte_limit: u64,
    queue: Mutex<Queue>,
    room: Notify,
    counters: Arc<CounterGroup>,
}

/// The memory channel.
#[derive(Debug, Clone)]
pub struct MemoryChannel {
    shared: Arc<Shared>,
}

impl MemoryChannel {
    /// A new, empty channel.
    pub fn new(name: &str, cfg: MemoryConfig) -> Self {
        let byte_limit = byte_limit(&cfg);
        let counters = CounterGroup::channel();
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            cfg,
            byte_limit,
            queue: Mutex::new(Queue::default()),
            room: Notify::new(),
            counters: counters.clone(),
        });
        let weak = Arc::downgrade(&shared);
        counters.set_gauges(Box::new(move || {
            let Some(s) = weak.upgrade() else {
                return Vec::new();
            };
            let size = s.queue.lock().events.len() as u64;
            let cap = s.cfg.capacity;
            vec![
                ChannelGauge::Size.with(size),
                ChannelGauge::Capacity.with(cap),
                ChannelGauge::FillPercentage.with(size as f64 * 100.0 / cap.max(1) as f64),
            ]
        }));
        MemoryChannel { shared }
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        self.shared.queue.lock().events.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AgentChannel for MemoryChannel {
    fn put_terms(&self) -> PutTerms {
        PutTerms {
            capacity: usize::try_from(self.shared.cfg.transaction_capacity).unwrap_or(usize::MAX),
            drops_resends: false,
        }
    }

    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(MemoryTx::new(self.shared.clone()))
    }

    /// Closes the channel: what it still holds (queued, or taken by a transaction still
    /// open) is lost, counted in `EventsLostAtStopCount` and logged, once.
    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        let lost = {
            let mut q = self.shared.queue.lock();
            let lost = if q.closed {
                0
            } else {
                q.events.len() as u64 + q.in_flight
            };
            q.closed = true;
            q.events.clear();
            lost
        };
        if lost > 0 {
            self.shared
                .counters
                .add(ChannelCounter::EventsLostAtStop, lost);
            tracing::warn!(
                channel = %self.shared.name,
                lost,
                drain_timeout_ms = self.shared.cfg.drain_timeout.as_millis() as u64,
                "memory channel closed with events its sinks did not take within drainTimeout; they are lost (EventsLostAtStopCount)"
            );
        }
        // Commits waiting for room give up now.
        self.shared.room.notify_waiters();
        self.shared.counters.stopped();
        Box::pin(async { Ok(()) })
    }

    fn volatile(&self) -> Option<Volatile> {
        let q = self.shared.queue.lock();
        Some(Volatile {
            held: q.events.len() as u64 + q.in_flight,
            drain_timeout: self.shared.cfg.drain_timeout,
        })
    }

    fn counters(&self) -> Arc<CounterGroup> {
        self.shared.counters.clone()
    }

    /// Each batch put and committed in a transaction of its own, one after another; a refused
    /// batch (more than `transactionCapacity`, no room within `keep-alive`, closed) comes
    /// back whole (nothing of it stays in a memory channel), and the rest cut.
    fn put_group(&self, batches: Vec<Vec<Event>>) -> BoxFuture<'_, GroupOutcome> {
        Box::pin(put_each(batches, |events| self.put_one(events)))
    }
}

impl MemoryChannel {
    /// Puts and commits `events` in one transaction; a refused batch comes back whole.
    async fn put_one(&self, events: Vec<Event>) -> Result<(), Refused> {
        let mut tx = MemoryTx::new(self.shared.clone());
        let n = events.len() as u64;
        self.shared.counters.add(ChannelCounter::PutAttempt, n);
        if n > self.shared.cfg.transaction_capacity {
            let error = tx.tx_full();
            return Err(Refused::with(error, events));
        }
        tx.puts = events;
        match tx.settle().await {
            Ok(()) => Ok(()),
            Err(error) => Err(Refused::with(error, std::mem::take(&mut tx.puts))),
        }
    }
}

struct MemoryTx {
    shared: Arc<Shared>,
    puts: Vec<Event>,
    takes: Taken,
}

fn body_bytes(events: &[Event]) -> u64 {
    events.iter().map(|e| e.body.len() as u64).sum()
}

impl MemoryTx {
    fn new(shared: Arc<Shared>) -> Self {
        MemoryTx {
            shared,
            puts: Vec::new(),
            takes: Taken::default(),
        }
    }

    fn tx_full(&self) -> AgentChannelError {
        AgentChannelError::TransactionFull {
            channel: self.shared.name.clone(),
            capacity: self.shared.cfg.transaction_capacity,
        }
    }

    fn do_rollback(&mut self) {
        self.untake();
        self.puts.clear();
    }

    /// Returns the takes to the head of the queue (the puts stay in the transaction).
    fn untake(&mut self) {
        if self.takes.is_empty() {
            return;
        }
        let n = self.takes.len() as u64;
        let taken = self.takes.restore();
        let mut q = self.shared.queue.lock();
        q.in_flight = q.in_flight.saturating_sub(n);
        // Their bytes stayed counted while they were in flight.
        for e in taken.into_iter().rev() {
            q.events.push_front(e);
        }
    }
}

impl MemoryTx {
    /// Moves the puts into the queue and makes the takes final, waiting up to `keep-alive`
    /// for room. On failure the takes are back at the head of the queue and the puts are
    /// still in the transaction (so [`MemoryChannel`]'s `offer` can hand them back).
    async fn settle(&mut self) -> Result<(), AgentChannelError> {
        let sh = self.shared.clone();
        let (n, put_bytes) = (self.puts.len() as u64, body_bytes(&self.puts));
        let (nt, take_bytes) = (self.takes.len() as u64, self.takes.body_bytes());
        let start = tokio::time::Instant::now();
        let deadline = start.checked_add(sh.cfg.keep_alive).unwrap_or(start);
        loop {
            let notified = sh.room.notified();
            {
                let mut q = sh.queue.lock();
                if q.closed {
                    drop(q);
                    self.untake();
                    return Err(AgentChannelError::Closed(sh.name.clone()));
                }
                let used = (q.events.len() as u64 + q.in_flight).saturating_sub(nt);
                let bytes = q.bytes.saturating_sub(take_bytes);
                let fits = used.saturating_add(n) <= sh.cfg.capacity
                    && (n == 0 || bytes.saturating_add(put_bytes) <= sh.byte_limit);
                if fits {
                    q.in_flight -= nt.min(q.in_flight);
                    q.bytes = bytes + put_bytes;
                    q.events.extend(self.puts.drain(..));
                    drop(q);
                    self.takes.clear();
                    sh.counters.add(ChannelCounter::PutSuccess, n);
                    sh.counters.add(ChannelCounter::TakeSuccess, nt);
                    if nt > 0 {
                        sh.room.notify_waiters();
                    }
                    return Ok(());
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left == Duration::ZERO || tokio::time::timeout(left, notified).await.is_err() {
                self.untake();
                return Err(AgentChannelError::Full {
                    channel: sh.name.clone(),
                    capacity: sh.cfg.capacity,
                });
            }
        }
    }
}

impl ChannelTx for MemoryTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let n = events.len() as u64;
            self.shared.counters.add(ChannelCounter::PutAttempt, n);
            if (self.puts.len() + self.takes.len()) as u64 + n
                > self.shared.cfg.transaction_capacity
            {
                return Err(self.tx_full());
            }
            self.puts.extend(events);
            Ok(())
        })
    }

    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async move {
            self.shared.counters.add(ChannelCounter::TakeAttempt, 1);
            let room = self.shared.cfg.transaction_capacity as usize
                - (self.puts.len() + self.takes.len())
                    .min(self.shared.cfg.transaction_capacity as usize);
            let max = max.min(room);
            let mut q = self.shared.queue.lock();
            if q.closed {
                return Err(AgentChannelError::Closed(self.shared.name.clone()));
            }
            let k = max.min(q.events.len());
            let got: Vec<Event> = q.events.drain(..k).collect();
            q.in_flight += got.len() as u64;
            drop(q);
            self.takes.record(&got);
            Ok(got)
        })
    }

    /// Cancel safety: the puts and takes stay in the transaction until the commit succeeds,
    /// so a cancelled commit rolls back when the transaction is dropped.
    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let r = self.settle().await;
            if r.is_err() {
                self.do_rollback();
            }
            r
        })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        self.do_rollback();
        Box::pin(async {})
    }
}

impl Drop for MemoryTx {
    fn drop(&mut self) {
        self.do_rollback();
    }
}

impl super::BuildChannel for MemoryConfig {
    fn transaction_capacity(&self) -> u64 {
        self.transaction_capacity
    }

    fn open(
        &self,
        name: &str,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>> {
        let ch: Arc<dyn AgentChannel> = Arc::new(MemoryChannel::new(name, self.clone()));
        Box::pin(std::future::ready(Ok(ch)))
    }
}
