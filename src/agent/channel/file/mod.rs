//! The Sluice file channel as an agent channel. Every call into the (synchronous, possibly
//! fsyncing) channel runs on tokio's blocking pool; the transaction moves into the blocking
//! task and back.

pub(crate) mod config;
mod group;
pub(crate) mod replay_watch;

use std::sync::Arc;

use super::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::metrics::{ChannelCounter, ChannelGauge};
use crate::agent::metrics::{CounterGroup, Registry};
use sluice_core::Event;
use sluice_core::{
    Cached, ChannelError, FileChannel, FileChannelConfig, ReplayProgress, Transaction,
};

/// A file channel opened for the agent.
#[derive(Debug, Clone)]
pub struct FileChannelAdapter {
    name: String,
    channel: FileChannel,
    counters: Arc<CounterGroup>,
}

/// The encryption gauges: sealed segments, the oldest key still in use, segments by key.
fn key_gauges(ch: &FileChannel) -> Vec<(&'static str, String)> {
    let by = ch.sealed_by();
    let sealed: u64 = by
        .iter()
        .filter(|(a, _)| !a.is_empty())
        .map(|(_, n)| n)
        .sum();
    let oldest = by
        .iter()
        .find(|(a, _)| !a.is_empty())
        .map_or("", |(a, _)| a.as_str());
    let text: Vec<String> = by
        .iter()
        .map(|(a, n)| match a.as_str() {
            "" => format!("plain={n}"),
            a => format!("{a}={n}"),
        })
        .collect();
    vec![
        ChannelGauge::SealedSegments.with(sealed),
        ChannelGauge::OldestKeyInUse.with(oldest),
        ChannelGauge::SegmentsByKey.with(text.join(" ")),
    ]
}

/// With `adoptFlumeChannel`, adopts the Flume channel the directories hold, in place, and
/// says what it did; a Flume channel without the key is refused by the open that follows.
/// An encrypted Flume channel is read with the channel's own `encryption.*` keys (the same
/// keys Flume was given), and its events are sealed with `activeKey` as they move.
fn adopt_flume(name: &str, cfg: &FileChannelConfig) -> Result<(), AgentChannelError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let fs = std::sync::Arc::new(sluice_core::io::StdFs);
    let keys = match cfg.encryption.as_ref().filter(|_| cfg.adopt_flume_channel) {
        None => sluice_core::flume::FlumeKeys::new(),
        Some(enc) => match sluice_core::flume::load_keys(fs.as_ref(), &enc.key_files) {
            Ok((keys, _warnings)) => keys,
            Err(e) => {
                let keys = sluice_core::ChannelError::from(sluice_core::KeysError::from(e));
                return Err(AgentChannelError::Adopt {
                    channel: name.to_owned(),
                    cause: Box::new(keys.into()),
                });
            }
        },
    };
    match sluice_core::adopt::adopt_if_flume(fs, cfg, &keys, now) {
        Ok(None) => Ok(()),
        Ok(Some(done)) => {
            let c = done
                .report
                .as_ref()
                .map(|r| r.counts.clone())
                .unwrap_or_default();
            tracing::info!(
                channel = name,
                events = done.events,
                inflight_takes_returned = c.inflight_takes_returned,
                uncommitted_puts_left_out = c.uncommitted_puts,
                resumed = done.resumed,
                flume_files_moved_to = done.moved_to.as_deref().unwrap_or(""),
                "adopted the Apache Flume file channel in the channel's directories"
            );
            for (path, offset, why) in &c.stopped {
                tracing::warn!(channel = name, file = %path.display(), offset, "Flume log read stopped at damage: {why}");
            }
            Ok(())
        }
        Err(cause) => Err(AgentChannelError::Adopt {
            channel: name.to_owned(),
            cause: Box::new(cause),
        }),
    }
}

fn map_err(name: &str, e: ChannelError) -> AgentChannelError {
    match e {
        ChannelError::Full { capacity, .. } => AgentChannelError::Full {
            channel: name.to_owned(),
            capacity,
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

impl FileChannelAdapter {
    /// Opens (and recovers) the channel on the blocking pool.
    pub async fn open(name: &str, cfg: FileChannelConfig) -> Result<Self, AgentChannelError> {
        let progress = Arc::new(ReplayProgress::default());
        Self::open_counted(name, cfg, CounterGroup::channel(), progress).await
    }

    /// [`FileChannelAdapter::open`], with the channel's counter group in `registry` from the
    /// start: while the channel replays it shows the replay's progress
    /// ([`replay_watch`]), then every gauge. A failed open takes the group out again.
    pub(crate) async fn open_shown(
        name: &str,
        cfg: FileChannelConfig,
        registry: &Registry,
    ) -> Result<Self, AgentChannelError> {
        let progress = Arc::new(ReplayProgress::default());
        let counters = CounterGroup::channel();
        counters.set_gauges(replay_watch::replay_only(progress.clone()));
        registry.register(name, counters.clone());
        let opened = Self::open_counted(name, cfg, counters, progress).await;
        if opened.is_err() {
            registry.remove("CHANNEL", name);
        }
        opened
    }

    /// Opens the channel, counting its replay into `progress` (logged while it lasts) and
    /// its metrics into `counters`.
    async fn open_counted(
        name: &str,
        cfg: FileChannelConfig,
        counters: Arc<CounterGroup>,
        progress: Arc<ReplayProgress>,
    ) -> Result<Self, AgentChannelError> {
        let dirs = (cfg.data_dirs.clone(), cfg.checkpoint_dir.clone());
        let floor_bytes = cfg.minimum_required_space_bytes;
        let p = progress.clone();
        let chan = name.to_owned();
        let opening = tokio::task::spawn_blocking(move || {
            adopt_flume(&chan, &cfg)?;
            FileChannel::open_with_progress(cfg, &p).map_err(|e| map_err(&chan, e))
        });
        let logging = replay_watch::log_until_dropped(name.to_owned(), progress.clone());
        let opened = tokio::select! {
            r = opening => r,
            never = logging => match never {},
        };
        let channel = opened.map_err(|_| AgentChannelError::Join(name.to_owned()))??;
        let info = channel.recovery_info();
        tracing::info!(
            channel = name,
            source = ?info.source,
            events = info.recovered_events,
            events_lost = info.events_lost,
            elapsed_ms = info.elapsed.as_millis() as u64,
            "file channel opened"
        );
        if let Some(enc) = &channel.config().encryption {
            let by = key_gauges(&channel);
            tracing::info!(
                channel = name,
                cipher_provider = %enc.cipher_provider,
                active_key = %enc.active_key,
                segments = %by[2].1,
                "encryption on: {} is mapped to sealed segments (AES-256-GCM, authenticated); segments by key, oldest first",
                enc.cipher_provider
            );
        }
        let ch = channel.clone();
        let disk = super::disk_space::DiskSpace::new(dirs.0, dirs.1, floor_bytes);
        counters.set_gauges(Box::new(move || {
            let s = ch.stats();
            let fill = s.queued as f64 * 100.0 / s.capacity.max(1) as f64;
            vec![
                ChannelGauge::Size.with(s.queued),
                ChannelGauge::Capacity.with(s.capacity),
                ChannelGauge::FillPercentage.with(fill),
                ChannelGauge::PutErrors.with(s.put_errors),
                ChannelGauge::TakeErrors.with(s.take_errors),
                ChannelGauge::CheckpointWriteErrors.with(s.checkpoint_write_errors),
                ChannelGauge::CheckpointBackupWriteErrors.with(s.checkpoint_backup_write_errors),
                ChannelGauge::Open.with(s.open),
                ChannelGauge::Closed.with(u8::from(!s.open)),
                ChannelGauge::Unhealthy.with(u8::from(s.unhealthy)),
                ChannelGauge::EventsLostOnOpen.with(s.events_lost_on_open),
                ChannelGauge::TailCacheHits.with(s.tail_cache_hits),
                ChannelGauge::TailCacheMisses.with(s.tail_cache_misses),
                ChannelGauge::Duplicates.with(s.duplicates),
                ChannelGauge::IdsRefused.with(s.ids_refused),
                ChannelGauge::DedupOrigins.with(s.dedup_origins),
            ]
            .into_iter()
            .chain(key_gauges(&ch))
            .chain(replay_watch::gauges(&progress))
            .chain(disk.gauges())
            .collect()
        }));
        Ok(FileChannelAdapter {
            name: name.to_owned(),
            channel,
            counters,
        })
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

    fn put_commit_group_blocking(
        &self,
        batches: Vec<Vec<Event>>,
    ) -> Vec<Result<(), AgentChannelError>> {
        self.put_group_blocking(batches)
    }

    fn file_stats(&self) -> Option<sluice_core::ChannelStats> {
        Some(self.channel.stats())
    }

    fn cursor(&self, key: &str) -> Option<Vec<u8>> {
        self.channel.cursor(key)
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
        Box::pin(async move {
            let n = events.len() as u64;
            self.counters.add(ChannelCounter::PutAttempt, n);
            let ch = self.channel.clone();
            tokio::task::spawn_blocking(move || put_all_commit(&ch, events))
                .await
                .map_err(|_| AgentChannelError::Join(self.name.clone()))?
                .map_err(|e| map_err(&self.name, e))?;
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
        put_all_commit(&self.channel, events).map_err(|e| map_err(&self.name, e))?;
        self.counters.add(ChannelCounter::PutSuccess, n);
        Ok(())
    }
}

/// Begin, put every event, commit (a failed put drops the transaction, which rolls it back).
fn put_all_commit(ch: &FileChannel, events: Vec<Event>) -> Result<(), ChannelError> {
    let mut tx = ch.transaction();
    for e in events {
        tx.put(e)?;
    }
    tx.commit()
}

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

struct FileTx {
    name: String,
    /// `None` only while the transaction is inside a blocking task (or after one panicked).
    tx: Option<Transaction>,
    counters: Arc<CounterGroup>,
    puts: u64,
    takes: u64,
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
            tokio::task::spawn_blocking(move || tx.commit())
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
    let cfg = FileChannelConfig::with_dirs(dir.join("ck"), vec![dir.join("data")]);
    let file = FileChannelAdapter::open("c1", cfg)
        .await
        .unwrap_or_else(|e| panic!("opening a test channel: {e}"));
    Arc::new(super::instrumented::Instrumented::new(Arc::new(file)))
}
