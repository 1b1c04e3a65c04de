//! The Sluice file channel as an agent channel. Every call into the (synchronous, possibly
//! fsyncing) channel runs on tokio's blocking pool; the transaction moves into the blocking
//! task and back.

//!
//! Here: the adapter and its [`AgentChannel`] calls; `open.rs` opening (and adopting) the
//! channel, `tx.rs` its transactions, `group.rs` their group commit.

pub(crate) mod config;
mod group;
mod open;
pub(crate) mod replay_watch;
mod tx;

use std::sync::Arc;

use super::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx, Refused};
use crate::agent::metrics::{ChannelCounter, CounterGroup, Registry};
use sluice_core::Event;
use sluice_core::{ChannelError, FileChannel, FileChannelConfig};
use tx::FileTx;

/// A file channel opened for the agent.
#[derive(Debug, Clone)]
pub struct FileChannelAdapter {
    name: String,
    channel: FileChannel,
    counters: Arc<CounterGroup>,
}

fn map_err(name: &str, e: ChannelError) -> AgentChannelError {
    match e {
        ChannelError::Full { capacity, .. } => AgentChannelError::Full {
            channel: name.to_owned(),
            capacity,
        },
        ChannelError::FullBytes { capacity_bytes, .. } => AgentChannelError::FullBytes {
            channel: name.to_owned(),
            capacity_bytes,
        },
        ChannelError::TransactionFull { capacity, .. } => AgentChannelError::TransactionFull {
            channel: name.to_owned(),
            capacity,
        },
        ChannelError::Closed => AgentChannelError::Closed(name.to_owned()),
        other => AgentChannelError::File {
            channel: name.to_owned(),
            cause: other,
        },
    }
}

impl AgentChannel for FileChannelAdapter {
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(FileTx {
            name: self.name.clone(),
            tx: Some(self.channel.transaction()),
            counters: self.counters.clone(),
            puts: 0,
            takes: 0,
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move {
            let ch = self.channel.clone();
            self.counters.stopped();
            tokio::task::spawn_blocking(move || ch.close())
                .await
                .map_err(|_| AgentChannelError::Join(self.name.clone()))?
                .map_err(|e| map_err(&self.name, e))
        })
    }

    fn counters(&self) -> Arc<CounterGroup> {
        self.counters.clone()
    }

    fn commit_group(
        &self,
        txs: Vec<Box<dyn ChannelTx>>,
    ) -> BoxFuture<'_, Vec<Result<(), AgentChannelError>>> {
        self.group(txs)
    }

    fn put_commit_group_blocking(&self, batches: Vec<Vec<Event>>) -> Vec<Result<(), Refused>> {
        self.put_group_blocking(batches)
    }

    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        Some(self.channel.stats())
    }

    fn cursor(&self, key: &str) -> Option<Vec<u8>> {
        self.channel.cursor(key)
    }

    fn backlog(&self) -> Option<sluice_core::Backlog> {
        Some(self.channel.backlog())
    }

    fn drops_resends(&self) -> bool {
        self.channel.config().event_ids
    }

    fn put_capacity(&self) -> usize {
        usize::try_from(self.channel.config().transaction_capacity).unwrap_or(usize::MAX)
    }

    /// Begin, put all and commit in one blocking call: one hop to the blocking pool and back
    /// per batch instead of two. The commit is durable (fsynced) when this returns `Ok`.
    ///
    /// Cancel safety: the blocking call runs to its end; the batch is committed or rolled back
    /// whether or not the future is still awaited.
    fn put_commit(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async move { self.offer(events).await.map_err(|r| r.error) })
    }

    /// Nothing of a refused batch stays in the channel (its transaction rolled back), so it
    /// is handed back.
    fn hands_back(&self) -> bool {
        true
    }

    /// [`AgentChannel::put_commit`], handing a refused batch back whole and in order (with
    /// `eventIds`, a batch refused at its commit carries the ids it was given: free again,
    /// and kept by the retry). Only a blocking task that panicked loses it.
    fn offer(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), Refused>> {
        Box::pin(async move {
            let n = events.len() as u64;
            self.counters.add(ChannelCounter::PutAttempt, n);
            let ch = self.channel.clone();
            tokio::task::spawn_blocking(move || put_all_commit(&ch, events))
                .await
                .map_err(|_| Refused::without(AgentChannelError::Join(self.name.clone())))?
                .map_err(|(e, back)| Refused::with(map_err(&self.name, e), back))?;
            self.counters.add(ChannelCounter::PutSuccess, n);
            Ok(())
        })
    }

    fn puts_blocking(&self) -> bool {
        true
    }

    /// The same on the calling thread (already on the blocking pool).
    fn put_commit_blocking(&self, events: Vec<Event>) -> Result<(), AgentChannelError> {
        let n = events.len() as u64;
        self.counters.add(ChannelCounter::PutAttempt, n);
        put_all_commit(&self.channel, events).map_err(|(e, _)| map_err(&self.name, e))?;
        self.counters.add(ChannelCounter::PutSuccess, n);
        Ok(())
    }
}

/// Begin, put every event, commit. A batch that does not take effect (a put refused: the
/// transaction rolls back; or the commit failed) comes back whole, in order, with the error.
fn put_all_commit(ch: &FileChannel, events: Vec<Event>) -> Result<(), (ChannelError, Vec<Event>)> {
    put_all(ch.transaction(), events)?
        .commit_returning()
        .map_err(|n| (n.error, n.puts))
}

/// Puts every event into `tx`; when one is refused, `tx` rolls back and every put of it, the
/// refused event and the rest come back in order with the error.
fn put_all(
    mut tx: sluice_core::Transaction,
    events: Vec<Event>,
) -> Result<sluice_core::Transaction, (ChannelError, Vec<Event>)> {
    let mut rest = events.into_iter();
    while let Some(e) = rest.next() {
        if let Err(mut error) = tx.put(e) {
            let mut back = tx.rollback_returning();
            back.extend(error.take_event());
            back.extend(rest);
            return Err((error, back));
        }
    }
    Ok(tx)
}

impl super::BuildChannel for FileChannelConfig {
    fn transaction_capacity(&self) -> u64 {
        self.transaction_capacity
    }

    /// The checkpoint directory, the backup checkpoint directory (when set) and every data
    /// directory.
    fn dirs(&self) -> Vec<std::path::PathBuf> {
        std::iter::once(&self.checkpoint_dir)
            .chain(self.backup_checkpoint_dir.iter())
            .chain(self.data_dirs.iter())
            .cloned()
            .collect()
    }

    fn open(
        &self,
        name: &str,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>> {
        let (name, cfg) = (name.to_owned(), self.clone());
        Box::pin(async move {
            let ch: Arc<dyn AgentChannel> = Arc::new(FileChannelAdapter::open(&name, cfg).await?);
            Ok(ch)
        })
    }

    fn open_shown(
        &self,
        name: &str,
        registry: Arc<Registry>,
    ) -> BoxFuture<'static, Result<Arc<dyn AgentChannel>, AgentChannelError>> {
        let (name, cfg) = (name.to_owned(), self.clone());
        Box::pin(async move {
            let ch = FileChannelAdapter::open_shown(&name, cfg, &registry).await?;
            let ch: Arc<dyn AgentChannel> = Arc::new(ch);
            Ok(ch)
        })
    }
}

/// A file channel in `dir` (default keys) behind the metrics wrapper, as the runtime opens
/// one: for tests.
#[cfg(test)]
pub(crate) async fn open_for_test(dir: &std::path::Path) -> Arc<dyn AgentChannel> {
    open_configured_for_test(dir, |_| {}).await
}

/// As [`open_for_test`], with `set` changing the default keys first.
#[cfg(test)]
pub(crate) async fn open_configured_for_test(
    dir: &std::path::Path,
    set: impl FnOnce(&mut FileChannelConfig),
) -> Arc<dyn AgentChannel> {
    let mut cfg = FileChannelConfig::with_dirs(dir.join("ck"), vec![dir.join("data")]);
    set(&mut cfg);
    let file = FileChannelAdapter::open("c1", cfg)
        .await
        .unwrap_or_else(|e| panic!("opening a test channel: {e}"));
    Arc::new(super::instrumented::Instrumented::new(Arc::new(file)))
}
