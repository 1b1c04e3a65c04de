//! The open itself, on the recovered state: the segment table, one writer per data
//! directory, the channel's shared state put together, what recovery met logged, a
//! checkpoint of the result when replay read anything, and the background checkpoints.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::{recover_state, segment_table};
use crate::channel::bound::DiskBound;
use crate::channel::checkpointer;
use crate::channel::config::FileChannelConfig;
use crate::channel::error::ChannelError;
use crate::channel::event_cache::{CacheBudget, EventCache};
use crate::channel::home;
use crate::channel::inner::{Counters, FileChannel, Inner, RecoveryInfo};
use crate::channel::ledger::DirLedger;
use crate::channel::locks::lock_all;
use crate::channel::state::Capacity;
use crate::io::Fs;
use crate::wal::policy::Repair;
use crate::wal::replay::{FoundSegment, ReplayProgress, ReplayReport};
use crate::wal::seal::Keyring;
use crate::wal::table::SegmentTable;
use crate::wal::writer::{DirWriter, LastSegment, Poison};

/// Starts one writer per data directory after the last segment replay found there.
fn start_writers(
    fs: &Arc<dyn Fs>,
    config: &FileChannelConfig,
    (segments, keyring, channel): (&[FoundSegment], Option<&Arc<Keyring>>, [u8; 16]),
    (poison, ids, table): (&Arc<Poison>, &Arc<AtomicU32>, &Arc<SegmentTable>),
) -> Result<Vec<DirWriter>, ChannelError> {
    let mut writers = Vec::with_capacity(config.data_dirs.len());
    for (i, dir) in config.data_dirs.iter().enumerate() {
        let last = segments
            .iter()
            .rfind(|s| s.dir_index == i)
            .map(|s| LastSegment {
                id: s.id,
                len: s.len,
            });
        let fresh = last.is_none();
        let writer = DirWriter::open(
            fs.clone(),
            dir.clone(),
            i,
            config.segment_bytes_max(),
            poison.clone(),
            ids.clone(),
            table.clone(),
            last,
            (
                config.direct_io,
                config.group_commit_leaders,
                config.recycle_segments,
                config.acked_end_refresh_ms.saturating_mul(1_000_000),
            ),
        )?
        .with_keyring(keyring.cloned(), channel);
        if fresh {
            // A directory without any segment gets its first one now, so that the checkpoint
            // names it as the directory's replay position: should every segment of the
            // directory vanish later, that position is what notices.
            writer.roll_now()?;
        }
        writers.push(writer);
    }
    assert_eq!(writers.len(), config.data_dirs.len());
    Ok(writers)
}

/// Logs what recovery met, once in sum and once per problem.
fn log_damage(report: &ReplayReport, events_lost: u64) {
    if !report.problems.is_empty() || events_lost > 0 {
        tracing::warn!(
            problems = report.problems.len(),
            events_lost,
            events_cut = report.events_cut,
            events_set_aside = report.events_set_aside,
            "recovery met damaged data; see the report"
        );
        for p in &report.problems {
            tracing::warn!(problem = %p, "recovery");
        }
    }
}

/// The deduplication state, its own origin settled against where it was taken
/// (`channel/home.rs`): a channel copied elsewhere takes a new one, kept in `origin-home`
/// before anything is committed under it.
fn settle_origin(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    rec: &super::RecoveredState,
) -> Result<crate::channel::dedup::Dedup, ChannelError> {
    let image = rec.image.as_ref();
    let image_origin = image.map_or(0, |i| i.dedup.own_origin);
    let (found, at) = if config.event_ids {
        let at = home::fingerprint(fs, config)?;
        (home::found(fs, config, at, image_origin), Some(at))
    } else {
        (home::Found::None, None)
    };
    let dedup = crate::channel::dedup::recovered(config, image, &rec.outcome.committed, &found);
    if let Some(at) = at {
        let own = dedup.own_origin();
        if found != home::Found::Home(own) {
            home::keep(fs, config, own, at)?;
        }
    }
    Ok(dedup)
}

pub(in crate::channel) fn open(
    config: FileChannelConfig,
    fs: Arc<dyn Fs>,
    progress: &ReplayProgress,
) -> Result<FileChannel, ChannelError> {
    let t0 = Instant::now();
    config.validate()?;
    let locks = lock_all(fs.as_ref(), &config, true)?;
    let rec = recover_state(fs.as_ref(), &config, Repair::OnDisk, progress)?;
    let table = segment_table(fs.as_ref(), &rec.outcome)?;
    let config_tail_cache = config.tail_cache_bytes;
    let dedup = settle_origin(fs.as_ref(), &config, &rec)?;
    let poison = Arc::new(Poison::default());
    let ids = Arc::new(AtomicU32::new(rec.segment_next));
    let shared = (&poison, &ids, &table);
    let found = (
        &rec.outcome.segments[..],
        rec.keyring.as_ref(),
        rec.channel_id,
    );
    let writers = start_writers(&fs, &config, found, shared)?;
    let ledgers = writers
        .iter()
        .map(|w| DirLedger::new(w.position()))
        .collect();
    let report = rec.outcome.report;
    let events_lost =
        report.events_lost + rec.missing.len() as u64 + report.events_cut + report.events_cut_back;
    let st = rec.queue;
    let depth = st.depth();
    let recovered = st.ready().len() as u64;
    log_damage(&report, events_lost);
    let replayed_any = report.records > 0 || rec.image.is_none();
    let inner = Arc::new(Inner {
        keyring: rec.keyring.clone(),
        capacity: Capacity::new(config.capacity, depth),
        bound: DiskBound::new(&config, depth),
        config,
        fs,
        writers,
        table,
        events: Arc::new(EventCache::new(
            usize::try_from(config_tail_cache).unwrap_or(usize::MAX),
        )),
        poison,
        seq_next: AtomicU64::new(rec.seq_next),
        txid_next: AtomicU64::new(rec.txid_next),
        segment_ids: ids,
        ledgers,
        state: Mutex::new(st),
        rr: AtomicUsize::new(0),
        locks: Mutex::new(locks),
        closed: AtomicBool::new(false),
        counters: Counters::default(),
        checkpoint_lock: Mutex::new(()),
        backup_positions: Mutex::new(None),
        shutdown: Arc::default(),
        threads: Mutex::new(Vec::new()),
        dedup,
        cursors: Mutex::new(crate::channel::dedup::recovered_cursors(
            rec.image.as_ref(),
            &rec.outcome.committed,
        )),
        recovery: RecoveryInfo {
            source: rec.source,
            fallbacks: rec.fallbacks,
            report,
            recovered_events: recovered,
            events_lost,
            missing_segments: rec.missing_segments,
            elapsed: t0.elapsed(),
        },
    });
    started(inner, replayed_any)
}

/// Checkpoints a channel that replayed anything (so the next open need not), starts its
/// background checkpoints and says it is open.
fn started(inner: Arc<Inner>, replayed_any: bool) -> Result<FileChannel, ChannelError> {
    if replayed_any {
        checkpointer::checkpoint(&inner)?;
    }
    if inner.bound.limit() > 0 {
        inner.bound.measure(inner.fs.as_ref(), &inner.config);
    }
    checkpointer::start_background(&inner)?;
    if let Some(budget) = CacheBudget::process() {
        budget.join(&inner.events);
    }
    tracing::info!(
        events = inner.recovery.recovered_events,
        events_lost = inner.recovery.events_lost,
        source = ?inner.recovery.source,
        elapsed_ms = inner.recovery.elapsed.as_millis() as u64,
        "file channel open"
    );
    Ok(FileChannel { inner })
}
