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

use super::{
    AgentChannel, AgentChannelError, BlockingPut, BoxFuture, ChannelTx, GroupOutcome, PutTerms,
    Refused,
};
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

    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        Some(self.channel.stats())
    }

    fn cursor(&self, key: &str) -> Option<Vec<u8>> {
        self.channel.cursor(key)
    }

    fn cursor_keys(&self) -> Vec<String> {
        self.channel.cursor_keys()
    }

    fn keeps_cursors(&self) -> bool {
        true
    }

    fn backlog(&self) -> Option<sluice_core::Backlog> {
        Some(self.channel.backlog())
    }

    fn holds_event_origin(&self, origin: u64) -> bool {
        self.channel.config().event_ids && self.channel.holds_event_origin(origin)
    }

    fn put_terms(&self) -> PutTerms {
        let cfg = self.channel.config();
        PutTerms {
            capacity: usize::try_from(cfg.transaction_capacity).unwrap_or(usize::MAX),
            drops_resends: cfg.event_ids,
        }
    }

    /// The group on one blocking thread ([`BlockingPut::put_group_blocking`]): one hop to the
    /// blocking pool and back per group, one fdatasync for all of it. The commits are durable
    /// (fsynced) when their outcomes are `Ok`. Every batch that does not commit comes back
    /// whole and in order (with `eventIds`, a batch refused at its commit carries the ids it
    /// was given: free again, and kept by the retry); only a blocking task that panicked loses
    /// them ([`Refused::lost`]).
    ///
    /// Cancel safety: the blocking call runs to its end; each batch is committed or rolled
    /// back whether or not the future is still awaited.
    fn put_group(&self, batches: Vec<Vec<Event>>) -> BoxFuture<'_, GroupOutcome> {
        Box::pin(async move {
            let total = batches.len();
            let me = self.clone();
            // In the caller's span: the channel's warnings name what it names (an RPC
            // source's peer).
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| me.put_group_blocking(batches)))
                .await
                .unwrap_or_else(|_| {
                    (0..total)
                        .map(|_| Err(Refused::with(self.join_error(), Vec::new())))
                        .collect()
                })
        })
    }

    fn blocking_put(&self) -> Option<Arc<dyn BlockingPut>> {
        Some(Arc::new(self.clone()))
    }
}

impl BlockingPut for FileChannelAdapter {
    /// A group of one is begun, put and committed as one transaction; a larger group as one
    /// group commit (`group.rs`).
    fn put_group_blocking(&self, mut batches: Vec<Vec<Event>>) -> GroupOutcome {
        if batches.len() != 1 {
            return self.put_group_here(batches);
        }
        let events = batches.pop().unwrap_or_default();
        let n = events.len() as u64;
        self.counters.add(ChannelCounter::PutAttempt, n);
        let outcome = put_all_commit(&self.channel, events)
            .map(|()| self.counters.add(ChannelCounter::PutSuccess, n))
            .map_err(|(e, back)| Refused::with(map_err(&self.name, e), back));
        vec![outcome]
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

    fn event_home(&self) -> Option<(&[std::path::PathBuf], &std::path::Path)> {
        Some((&self.data_dirs, &self.checkpoint_dir))
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
