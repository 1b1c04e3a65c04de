//! Opening the file channel for the agent: adopting a Flume channel in place when asked,
//! replaying on the blocking pool with its progress shown, then the channel's gauges (the
//! encryption ones among them).

use std::sync::Arc;

use super::{map_err, replay_watch, FileChannelAdapter};
use crate::agent::channel::AgentChannelError;
use crate::agent::metrics::{ChannelGauge, CounterGroup, Registry};
use sluice_core::{FileChannel, FileChannelConfig, ReplayProgress};

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
        None => sluice_flume::FlumeKeys::new(),
        Some(enc) => match sluice_flume::load_keys(fs.as_ref(), &enc.key_files) {
            Ok((keys, _warnings)) => keys,
            Err(e) => {
                let keys =
                    sluice_core::ChannelError::from(sluice_core::KeysError::Provider(Box::new(e)));
                return Err(AgentChannelError::Adopt {
                    channel: name.to_owned(),
                    cause: Box::new(keys.into()),
                });
            }
        },
    };
    match sluice_flume::adopt::adopt_if_flume(fs, cfg, &keys, now) {
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
        let disk = crate::agent::channel::disk_space::DiskSpace::new(dirs.0, dirs.1, floor_bytes);
        counters.set_gauges(Box::new(move || {
            stats_gauges(&ch.stats())
                .into_iter()
                .chain([ChannelGauge::SizeBytes.with(ch.size_bytes())])
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

/// The gauges of a file channel's stats.
fn stats_gauges(s: &sluice_core::ChannelStats) -> Vec<(&'static str, String)> {
    let fill = s.queued as f64 * 100.0 / s.capacity.max(1) as f64;
    vec![
        ChannelGauge::Size.with(s.queued),
        ChannelGauge::Capacity.with(s.capacity),
        ChannelGauge::FillPercentage.with(fill),
        ChannelGauge::CapacityBytes.with(s.capacity_bytes),
        ChannelGauge::FullBytes.with(s.puts_refused_bytes),
        ChannelGauge::BytesFull.with(u8::from(s.full_bytes)),
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
        ChannelGauge::DedupOriginsTurnedAway.with(s.dedup_origins_turned_away),
        ChannelGauge::DuplicateConflicts.with(s.duplicate_conflicts),
    ]
}
