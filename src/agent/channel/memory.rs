//! Flume's memory channel: a bounded in-memory queue with transactions.
//!
//! Capacity counts queued events plus events taken by open transactions (a rollback always
//! has room to put them back). A commit of puts waits up to `keep-alive` for room, counting
//! events against `capacity` and body bytes against `byteCapacity` less its
//! `byteCapacityBufferPercentage`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::config::types::MemoryConfig;
use crate::agent::metrics::CounterGroup;
use crate::event::Event;

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<Event>,
    /// Events taken by open transactions.
    in_flight: u64,
    /// Body bytes of queued and in-flight events.
    bytes: u64,
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    name: String,
    cfg: MemoryConfig,
    byte_limit: Option<u64>,
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
        let byte_limit = cfg
            .byte_capacity
            .map(|b| b.saturating_mul(100 - cfg.byte_capacity_buffer_percentage.min(99)) / 100);
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
                ("ChannelSize", size.to_string()),
                ("ChannelCapacity", cap.to_string()),
                (
                    "ChannelFillPercentage",
                    (size as f64 * 100.0 / cap.max(1) as f64).to_string(),
                ),
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
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(MemoryTx {
            shared: self.shared.clone(),
            puts: Vec::new(),
            takes: Vec::new(),
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.shared.queue.lock().closed = true;
        self.shared.counters.stopped();
        Box::pin(async { Ok(()) })
    }

    fn counters(&self) -> Arc<CounterGroup> {
        self.shared.counters.clone()
    }
}

struct MemoryTx {
    shared: Arc<Shared>,
    puts: Vec<Event>,
    takes: Vec<Event>,
}

fn body_bytes(events: &[Event]) -> u64 {
    events.iter().map(|e| e.body.len() as u64).sum()
}

impl MemoryTx {
    fn tx_full(&self) -> AgentChannelError {
        AgentChannelError::TransactionFull {
            channel: self.shared.name.clone(),
            capacity: self.shared.cfg.transaction_capacity,
        }
    }

    fn do_rollback(&mut self) {
        if self.takes.is_empty() {
            self.puts.clear();
            return;
        }
        let taken = std::mem::take(&mut self.takes);
        let mut q = self.shared.queue.lock();
        q.in_flight = q.in_flight.saturating_sub(taken.len() as u64);
        for e in taken.into_iter().rev() {
            q.events.push_front(e);
        }
        self.puts.clear();
    }
}

impl ChannelTx for MemoryTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let n = events.len() as u64;
            self.shared.counters.add("EventPutAttemptCount", n);
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
            self.shared.counters.add("EventTakeAttemptCount", 1);
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
            self.takes.extend(got.iter().cloned());
            Ok(got)
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let sh = self.shared.clone();
            let puts = std::mem::take(&mut self.puts);
            let takes = std::mem::take(&mut self.takes);
            let (n, put_bytes) = (puts.len() as u64, body_bytes(&puts));
            let deadline = tokio::time::Instant::now() + sh.cfg.keep_alive;
            let mut puts = Some(puts);
            loop {
                let notified = sh.room.notified();
                {
                    let mut q = sh.queue.lock();
                    if q.closed {
                        self.takes = takes;
                        self.do_rollback();
                        return Err(AgentChannelError::Closed(sh.name.clone()));
                    }
                    let used = q.events.len() as u64 + q.in_flight - takes.len() as u64;
                    let bytes = q.bytes - body_bytes(&takes).min(q.bytes);
                    let fits = used + n <= sh.cfg.capacity
                        && sh
                            .byte_limit
                            .is_none_or(|l| bytes + put_bytes <= l || n == 0);
                    if fits {
                        q.in_flight -= takes.len() as u64;
                        q.bytes = bytes + put_bytes;
                        q.events.extend(puts.take().into_iter().flatten());
                        drop(q);
                        sh.counters.add("EventPutSuccessCount", n);
                        sh.counters.add("EventTakeSuccessCount", takes.len() as u64);
                        if !takes.is_empty() {
                            sh.room.notify_waiters();
                        }
                        return Ok(());
                    }
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left == Duration::ZERO || tokio::time::timeout(left, notified).await.is_err() {
                    self.takes = takes;
                    self.do_rollback();
                    return Err(AgentChannelError::Full {
                        channel: sh.name.clone(),
                        capacity: sh.cfg.capacity,
                    });
                }
            }
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
