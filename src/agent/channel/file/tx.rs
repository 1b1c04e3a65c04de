//! A file-channel transaction as an agent [`ChannelTx`]: taken from memory on the calling
//! thread while it can, moved into a blocking task and back for what may touch the disk.

use std::sync::Arc;

use super::map_err;
use crate::agent::channel::{AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::metrics::{ChannelCounter, CounterGroup};
use sluice_core::{Cached, ChannelError, Event, Transaction};

/// The bytes (headers and bodies) after which a take ends, whatever its count: 64 MiB. A take
/// holds what it took until its sink delivers it, so without it a sink behind a stream of
/// 8 MiB pieces (TAILDIR's longest event) took `batchSize` × 8 MiB at once (800 MiB at
/// Flume's 100). Above every sink's own byte bound (ClickHouse's `maxBatchBytes` 16 MiB), so
/// ordinary events are taken by count as before; a take is at least one event.
pub(super) const TAKE_BYTES_MAX: usize = 64 << 20;

/// The events and bytes a take has so far.
#[derive(Default)]
struct Taken {
    events: Vec<Event>,
    bytes: usize,
}

impl Taken {
    /// Whether the take may take another event (fewer than `max`, under [`TAKE_BYTES_MAX`]).
    fn wants_more(&self, max: usize) -> bool {
        self.events.len() < max && self.bytes < TAKE_BYTES_MAX
    }

    fn push(&mut self, e: Event) {
        self.bytes += e.payload_bytes();
        self.events.push(e);
    }
}

/// Takes into `got` up to `max` events without blocking; `(true, _)` when the batch is
/// complete (full by count or bytes, the queue empty or the transaction at its capacity),
/// `(false, None)` when the rest must be taken on the blocking pool.
fn take_from_memory(
    tx: &mut Transaction,
    max: usize,
    got: &mut Taken,
) -> (bool, Option<ChannelError>) {
    while got.wants_more(max) {
        match tx.take_cached() {
            Ok(Cached::Event(e)) => got.push(e),
            Ok(Cached::Empty) | Err(ChannelError::TransactionFull { .. }) => return (true, None),
            Ok(Cached::Later) => return (false, None),
            Err(e) => return (false, Some(e)),
        }
    }
    (true, None)
}

pub(super) struct FileTx {
    pub(super) name: String,
    /// `None` only while the transaction is inside a blocking task (or after one panicked).
    pub(super) tx: Option<Transaction>,
    pub(super) counters: Arc<CounterGroup>,
    pub(super) puts: u64,
    pub(super) takes: u64,
}

impl FileTx {
    async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Transaction) -> T + Send + 'static,
    ) -> Result<T, AgentChannelError> {
        let mut tx = self
            .tx
            .take()
            .ok_or_else(|| AgentChannelError::Join(self.name.clone()))?;
        let (tx, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut tx);
            (tx, out)
        })
        .await
        .map_err(|_| AgentChannelError::Join(self.name.clone()))?;
        self.tx = Some(tx);
        Ok(out)
    }
}

impl ChannelTx for FileTx {
    fn set_cursor(&mut self, key: &str, value: Vec<u8>) -> bool {
        match self.tx.as_mut().map(|tx| tx.set_cursor(key, value)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                tracing::warn!(channel = %self.name, error = %e, "cursor not kept");
                false
            }
            None => false,
        }
    }

    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let n = events.len() as u64;
            self.counters.add(ChannelCounter::PutAttempt, n);
            let r = self
                .blocking(move |tx| {
                    for e in events {
                        tx.put(e)?;
                    }
                    Ok::<(), ChannelError>(())
                })
                .await?;
            r.map_err(|e| map_err(&self.name, e))?;
            self.puts += n;
            Ok(())
        })
    }

    /// Takes from memory on the calling thread while the channel's event cache holds the
    /// next events ([`Transaction::take_cached`]), and goes to the blocking pool only for the
    /// rest (events read from their log files, or a busy queue).
    fn take_up_to(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async move {
            self.counters.add(ChannelCounter::TakeAttempt, 1);
            let mut got = Taken::default();
            let (finished, err) = match self.tx.as_mut() {
                Some(tx) => take_from_memory(tx, max, &mut got),
                None => (false, None),
            };
            let (got, err) = if finished || err.is_some() {
                (got.events, err)
            } else {
                self.blocking(move |tx| {
                    while got.wants_more(max) {
                        match tx.take() {
                            Ok(Some(e)) => got.push(e),
                            Ok(None) => break,
                            Err(ChannelError::TransactionFull { .. }) => break,
                            Err(e) => return (got.events, Some(e)),
                        }
                    }
                    (got.events, None)
                })
                .await?
            };
            self.takes += got.len() as u64;
            match err {
                Some(e) if got.is_empty() => Err(map_err(&self.name, e)),
                Some(e) => {
                    // The events already taken go to the sink; the error is reported once
                    // here and again by the next take if it persists.
                    tracing::warn!(channel = %self.name, taken = got.len(), error = %e, "take stopped early");
                    Ok(got)
                }
                None => Ok(got),
            }
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let tx = self
                .tx
                .take()
                .ok_or_else(|| AgentChannelError::Join(self.name.clone()))?;
            // In the caller's span: the channel's warnings name what it names (an RPC
            // source's peer).
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| tx.commit()))
                .await
                .map_err(|_| AgentChannelError::Join(self.name.clone()))?
                .map_err(|e| map_err(&self.name, e))?;
            self.counters.add(ChannelCounter::PutSuccess, self.puts);
            self.counters.add(ChannelCounter::TakeSuccess, self.takes);
            Ok(())
        })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Some(tx) = self.tx.take() {
                if let Err(e) = tokio::task::spawn_blocking(move || tx.rollback()).await {
                    // The transaction's drop rolls back all the same; only the wait is lost.
                    tracing::warn!(channel = %self.name, error = %e, "rollback task failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TAKE_BYTES_MAX;
    use crate::agent::channel::file::open_for_test;
    use sluice_core::Event;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_take_ends_at_its_bytes_and_always_takes_one_event() {
        let dir = tempfile::tempdir().unwrap();
        let ch = open_for_test(dir.path()).await;
        // Five events of a quarter of the bound: four fill a take, the fifth waits.
        let piece = TAKE_BYTES_MAX / 4;
        let events: Vec<Event> = (0..5u8).map(|i| Event::new(vec![i; piece])).collect();
        crate::agent::channel::put_batch(ch.as_ref(), events)
            .await
            .unwrap();
        let mut tx = ch.begin();
        let first = tx.take_up_to(100).await.unwrap();
        assert_eq!(first.len(), 4, "a take past its bytes");
        tx.commit().await.unwrap();
        let mut tx = ch.begin();
        let rest = tx.take_up_to(100).await.unwrap();
        tx.commit().await.unwrap();
        let firsts: Vec<u8> = first.iter().chain(&rest).map(|e| e.body[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 3, 4], "every event once, in order");
        // Ordinary events are still taken by count.
        let small: Vec<Event> = (0..300).map(|i| Event::new(format!("{i}"))).collect();
        crate::agent::channel::put_batch(ch.as_ref(), small)
            .await
            .unwrap();
        let mut tx = ch.begin();
        assert_eq!(tx.take_up_to(250).await.unwrap().len(), 250);
        tx.commit().await.unwrap();
    }
}
