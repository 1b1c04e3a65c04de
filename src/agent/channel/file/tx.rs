//! A file-channel transaction as an agent [`ChannelTx`]: taken from memory on the calling
//! thread while it can, moved into a blocking task and back for what may touch the disk.

use std::sync::Arc;

use super::map_err;
use crate::agent::channel::{AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::metrics::{ChannelCounter, CounterGroup};
use sluice_core::{Cached, ChannelError, Event, Transaction};

/// Takes into `got` up to `max` events without blocking; `(true, _)` when the batch is
/// complete (full, the queue empty or the transaction at its capacity), `(false, None)` when
/// the rest must be taken on the blocking pool.
fn take_from_memory(
    tx: &mut Transaction,
    max: usize,
    got: &mut Vec<Event>,
) -> (bool, Option<ChannelError>) {
    while got.len() < max {
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
            let mut got = Vec::new();
            let (finished, err) = match self.tx.as_mut() {
                Some(tx) => take_from_memory(tx, max, &mut got),
                None => (false, None),
            };
            let (got, err) = if finished || err.is_some() {
                (got, err)
            } else {
                self.blocking(move |tx| {
                    while got.len() < max {
                        match tx.take() {
                            Ok(Some(e)) => got.push(e),
                            Ok(None) => break,
                            Err(ChannelError::TransactionFull { .. }) => break,
                            Err(e) => return (got, Some(e)),
                        }
                    }
                    (got, None)
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
