//! A channel wrapper that records what Flume's counters do not show: how long commits take
//! and how many events each committed transaction carried, separately for puts and takes.
//!
//! [`Instrumented`] wraps any [`AgentChannel`]; its transactions count the events that pass
//! through `put_all`/`take_up_to` and time `commit`. A committed transaction costs two
//! `Instant::now()` calls and four relaxed atomic adds per direction; nothing is recorded
//! per event, for rolled-back transactions, or for takes that found the channel empty. A
//! committed put also tells the channel's [`Arrivals`], which wakes sinks parked on it.

use std::sync::Arc;
use std::time::Instant;

use super::arrivals::Arrivals;
use super::contract::{commit_in_order, group_of};
use super::{
    AgentChannel, AgentChannelError, BlockingPut, BoxFuture, ChannelTx, GroupOutcome, PutTerms,
};
use crate::agent::histogram::{self, Histogram};
use crate::agent::metrics::CounterGroup;
use sluice_core::Event;

/// The four histograms of one channel.
#[derive(Debug)]
struct Histograms {
    put_commit: Arc<Histogram>,
    take_commit: Arc<Histogram>,
    put_batch: Arc<Histogram>,
    take_batch: Arc<Histogram>,
}

/// A channel whose commits are timed and whose batches are measured.
#[derive(Debug)]
pub(crate) struct Instrumented {
    inner: Arc<dyn AgentChannel>,
    h: Arc<Histograms>,
    arrivals: Arc<Arrivals>,
}

impl Instrumented {
    /// Wraps `inner`, registering its histograms in the channel's counter group.
    pub(crate) fn new(inner: Arc<dyn AgentChannel>) -> Self {
        let g = inner.counters();
        let h = Arc::new(Histograms {
            put_commit: g.histogram(&histogram::PUT_COMMIT),
            take_commit: g.histogram(&histogram::TAKE_COMMIT),
            put_batch: g.histogram(&histogram::PUT_BATCH),
            take_batch: g.histogram(&histogram::TAKE_BATCH),
        });
        Instrumented {
            inner,
            h,
            arrivals: Arc::default(),
        }
    }
}

impl AgentChannel for Instrumented {
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(InstrumentedTx {
            inner: self.inner.begin(),
            h: self.h.clone(),
            arrivals: self.arrivals.clone(),
            puts: 0,
            takes: 0,
        })
    }

    fn arrivals(&self) -> Option<Arc<Arrivals>> {
        Some(self.arrivals.clone())
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.inner.close()
    }

    fn counters(&self) -> Arc<CounterGroup> {
        self.inner.counters()
    }

    fn put_terms(&self) -> PutTerms {
        self.inner.put_terms()
    }

    fn concurrent_takes(&self) -> bool {
        self.inner.concurrent_takes()
    }

    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        self.inner.file_stats()
    }

    fn cursor(&self, key: &str) -> Option<Vec<u8>> {
        self.inner.cursor(key)
    }

    fn cursor_keys(&self) -> Vec<String> {
        self.inner.cursor_keys()
    }

    fn keeps_cursors(&self) -> bool {
        self.inner.keeps_cursors()
    }

    fn backlog(&self) -> Option<sluice_core::Backlog> {
        self.inner.backlog()
    }

    fn holds_event_origin(&self, origin: u64) -> bool {
        self.inner.holds_event_origin(origin)
    }

    fn volatile(&self) -> Option<super::Volatile> {
        self.inner.volatile()
    }

    /// The inner channel's group put, each committed batch measured as a put commit of its
    /// own (with the whole group's time).
    fn put_group(&self, batches: Vec<Vec<Event>>) -> BoxFuture<'_, GroupOutcome> {
        let counts = put_counts(&batches);
        Box::pin(async move {
            let start = Instant::now();
            let results = self.inner.put_group(batches).await;
            observe_group(&self.h, &self.arrivals, start.elapsed(), &results, &counts);
            results
        })
    }

    /// The inner channel's blocking put, measured as [`Instrumented::put_group`] measures.
    fn blocking_put(&self) -> Option<Arc<dyn BlockingPut>> {
        let inner = self.inner.blocking_put()?;
        Some(Arc::new(InstrumentedBlocking {
            inner,
            h: self.h.clone(),
            arrivals: self.arrivals.clone(),
        }))
    }

    /// The inner channel's group commit, each committed transaction measured as a commit
    /// of its own (with the whole group's time).
    fn commit_group(
        &self,
        txs: Vec<Box<dyn ChannelTx>>,
    ) -> BoxFuture<'_, Vec<Result<(), AgentChannelError>>> {
        Box::pin(async move {
            let txs = match group_of::<InstrumentedTx>(txs) {
                Ok(t) => t,
                Err(txs) => return commit_in_order(txs).await,
            };
            let counts: Vec<(u64, u64)> = txs.iter().map(|t| (t.puts, t.takes)).collect();
            let inner = txs.into_iter().map(|t| t.inner).collect();
            let start = Instant::now();
            let results = self.inner.commit_group(inner).await;
            observe_group(&self.h, &self.arrivals, start.elapsed(), &results, &counts);
            results
        })
    }
}

/// [`Instrumented`]'s blocking put: the inner one, measured.
#[derive(Debug)]
struct InstrumentedBlocking {
    inner: Arc<dyn BlockingPut>,
    h: Arc<Histograms>,
    arrivals: Arc<Arrivals>,
}

impl BlockingPut for InstrumentedBlocking {
    fn put_group_blocking(&self, batches: Vec<Vec<Event>>) -> GroupOutcome {
        let counts = put_counts(&batches);
        let start = Instant::now();
        let results = self.inner.put_group_blocking(batches);
        observe_group(&self.h, &self.arrivals, start.elapsed(), &results, &counts);
        results
    }
}

/// The puts and takes (none) of each batch of a group put.
fn put_counts(batches: &[Vec<Event>]) -> Vec<(u64, u64)> {
    batches.iter().map(|b| (b.len() as u64, 0)).collect()
}

/// Records each committed transaction of a group (`counts`: its puts and takes).
fn observe_group<E>(
    h: &Histograms,
    arrivals: &Arrivals,
    took: std::time::Duration,
    results: &[Result<(), E>],
    counts: &[(u64, u64)],
) {
    let mut arrived = false;
    for (_, &(puts, takes)) in results.iter().zip(counts).filter(|(r, _)| r.is_ok()) {
        if puts > 0 {
            arrived = true;
            h.put_commit.observe_duration(took);
            h.put_batch.observe(puts);
        }
        if takes > 0 {
            h.take_commit.observe_duration(took);
            h.take_batch.observe(takes);
        }
    }
    if arrived {
        arrivals.arrived();
    }
}

struct InstrumentedTx {
    inner: Box<dyn ChannelTx>,
    h: Arc<Histograms>,
    arrivals: Arc<Arrivals>,
    puts: u64,
    takes: u64,
}

impl ChannelTx for InstrumentedTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        let n = events.len() as u64;
        Box::pin(async move {
            self.inner.put_all(events).await?;
            self.puts += n;
            Ok(())
        })
    }

    fn set_cursor(&mut self, key: &str, value: Vec<u8>) -> bool {
        self.inner.set_cursor(key, value)
    }

    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async move {
            let got = self.inner.take_up_to(max).await?;
            self.takes += got.len() as u64;
            Ok(got)
        })
    }

    /// Cancel safety: that of the wrapped transaction; nothing is recorded unless the commit
    /// completes.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        let InstrumentedTx {
            inner,
            h,
            arrivals,
            puts,
            takes,
        } = *self;
        Box::pin(async move {
            let start = Instant::now();
            inner.commit().await?;
            let took = start.elapsed();
            if puts > 0 {
                arrivals.arrived();
                h.put_commit.observe_duration(took);
                h.put_batch.observe(puts);
            }
            if takes > 0 {
                h.take_commit.observe_duration(took);
                h.take_batch.observe(takes);
            }
            Ok(())
        })
    }

    fn rollback(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.inner.rollback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::channel::memory::MemoryChannel;
    use crate::agent::channel::memory::MemoryConfig;

    fn snapshot(ch: &Instrumented, name: &str) -> (u64, f64) {
        let h = ch
            .counters()
            .histograms()
            .into_iter()
            .find(|h| h.spec().name == name)
            .unwrap();
        let s = h.snapshot();
        (s.count, s.sum)
    }

    #[tokio::test]
    async fn committed_puts_and_takes_are_measured_and_rollbacks_and_empty_takes_are_not() {
        let cfg = MemoryConfig::sized(100, 100, std::time::Duration::from_secs(1));
        let ch = Instrumented::new(Arc::new(MemoryChannel::new("c1", cfg)));
        let events: Vec<Event> = (0..7).map(|i| Event::new(vec![i])).collect();
        super::super::put_batch(&ch, events.clone()).await.unwrap();
        let mut tx = ch.begin();
        tx.put_all(events).await.unwrap();
        tx.rollback().await;
        let mut tx = ch.begin();
        assert_eq!(tx.take_up_to(5).await.unwrap().len(), 5);
        tx.commit().await.unwrap();
        let mut tx = ch.begin();
        tx.take_up_to(5).await.unwrap();
        tx.rollback().await;
        let mut tx = ch.begin();
        assert_eq!(tx.take_up_to(5).await.unwrap().len(), 2);
        tx.commit().await.unwrap();
        let mut tx = ch.begin();
        assert!(tx.take_up_to(5).await.unwrap().is_empty());
        tx.commit().await.unwrap();
        assert_eq!(snapshot(&ch, "put_batch_size"), (1, 7.0));
        assert_eq!(snapshot(&ch, "take_batch_size"), (2, 7.0));
        assert_eq!(snapshot(&ch, "put_commit_duration").0, 1);
        assert_eq!(snapshot(&ch, "take_commit_duration").0, 2);
    }
}
