//! The channel's side of exactly-once (`eventIds`): at commit, every put either carries an id
//! (see `crate::dedup`) or gets the next one of the channel's own origin; a put whose id the
//! channel committed before, or that a commit in flight holds, is dropped (and counted); the
//! transaction's ids go into its commit record, so they are durable with its events.
//!
//! A commit's ids are *pending* from `admit` until it applies (`committed`, under the queue
//! lock, with its queue effects) or fails (`abandon`). A checkpoint, holding the queue lock,
//! takes the committed table plus the ids of the transactions pending before its positions
//! (the ledger carries them), so the image holds exactly the ids of the records before its
//! positions; replay adds those after. The own origin never expires and its next id is in
//! every image, so an id is never given twice.
//!
//! The channel's cursors (`Transaction::set_cursor`) are recovered here too: like the ids,
//! they are carried by commit records and checkpoints.
//!
//! Lock order: the queue lock → `state` (the commit path takes `state` alone before it
//! appends).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::config::FileChannelConfig;
use crate::checkpoint::format::{CheckpointImage, DedupImage};
use crate::dedup::{coalesce, DedupLimits, DedupTable, IdPrefix, IdSpan, EVENT_ID_HEADER};
use crate::event::Event;
use crate::wal::assemble::CommittedTxn;
use crate::wal::record::put_record_len;

#[derive(Debug)]
struct State {
    table: DedupTable,
    own: u64,
    own_next: u64,
    /// Transactions admitted and not yet applied or abandoned: (txid, their spans).
    pending: Vec<(u64, Vec<IdSpan>)>,
}

impl State {
    fn seen(&self, span: &IdSpan) -> bool {
        self.table.contains(span)
            || self.pending.iter().any(|(_, spans)| {
                spans
                    .iter()
                    .any(|s| s.origin == span.origin && s.lo <= span.lo && span.hi <= s.hi)
            })
    }
}

/// What `admit` did to a transaction's puts.
#[derive(Debug, Default)]
pub(super) struct Admitted {
    /// The ids the remaining puts commit, coalesced (for the commit record).
    pub spans: Vec<IdSpan>,
    /// Puts dropped as duplicates.
    pub dropped: usize,
    /// Their put record bytes now (ids added, duplicates gone).
    pub put_bytes: usize,
}

/// The deduplication state of one open channel.
#[derive(Debug)]
pub(super) struct Dedup {
    enabled: bool,
    expiry_ms: u64,
    state: Mutex<State>,
    duplicates: AtomicU64,
}

/// Milliseconds since the epoch (0 if the clock is before it).
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A fresh random origin (never 0).
pub(super) fn fresh_origin() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    h.write_u32(std::process::id());
    h.finish().max(1)
}

impl Dedup {
    /// The state an open rebuilt: `image` from its checkpoint (own origin 0: a fresh one),
    /// then every replayed commit's spans inserted into `table`.
    pub fn new(enabled: bool, expiry_ms: u64, table: DedupTable, image: &DedupImage) -> Self {
        let own = if image.own_origin == 0 {
            fresh_origin()
        } else {
            image.own_origin
        };
        let own_next = image
            .own_next
            .max(table.max_id(own).map_or(1, |m| m.saturating_add(1)))
            .max(1);
        Dedup {
            enabled,
            expiry_ms,
            state: Mutex::new(State {
                table,
                own,
                own_next,
                pending: Vec::new(),
            }),
            duplicates: AtomicU64::new(0),
        }
    }

    /// Whether puts get ids.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Drops the puts of transaction `txid` committed before (or in flight), gives the
    /// others without an id the next ones of the own origin, and holds their ids pending.
    pub fn admit(&self, txid: u64, puts: &mut Vec<Event>, put_bytes: usize) -> Admitted {
        let mut spans: Vec<IdSpan> = Vec::new();
        let mut dropped_at: Vec<usize> = Vec::new();
        let mut fresh: Vec<usize> = Vec::new();
        // The record bytes change by the headers added (less a malformed one replaced) and
        // the duplicates dropped: counted here, not summed again over every put.
        let pair = |v: &str| 8 + EVENT_ID_HEADER.len() + v.len();
        let (mut added, mut removed) = (0usize, 0usize);
        // Each put's id, parsed before the lock is taken.
        let ids: Vec<Option<IdSpan>> = puts
            .iter()
            .map(|ev| {
                let text = ev.headers.get(EVENT_ID_HEADER)?;
                let span = IdSpan::parse(text);
                if span.is_none() {
                    removed += pair(text);
                }
                span
            })
            .collect();
        // Under the lock only what must be: the lookups and the own ids' reservation (one
        // span); the headers are written after it, so committers do not queue behind them.
        let (own, first) = {
            let mut st = self.state.lock();
            for (i, id) in ids.iter().enumerate() {
                match id {
                    Some(span) if st.seen(span) || covered(&spans, span) => dropped_at.push(i),
                    Some(span) => extend(&mut spans, *span),
                    None => fresh.push(i),
                }
            }
            let (own, first) = (st.own, st.own_next);
            st.own_next += fresh.len() as u64;
            if !fresh.is_empty() {
                spans.push(IdSpan {
                    origin: own,
                    lo: first - 1,
                    hi: first - 1 + fresh.len() as u64,
                });
            }
            coalesce(&mut spans);
            if !spans.is_empty() {
                st.pending.push((txid, spans.clone()));
            }
            (own, first)
        };
        let prefix = IdPrefix::new(own);
        for (k, &i) in fresh.iter().enumerate() {
            let id = prefix.one(first + k as u64);
            let id = id.as_str();
            added += pair(id);
            puts[i].headers.insert(EVENT_ID_HEADER, id);
        }
        removed += dropped_at
            .iter()
            .map(|&i| put_record_len(&puts[i]))
            .sum::<usize>();
        if !dropped_at.is_empty() {
            let mut at = 0;
            let mut next = dropped_at.iter().peekable();
            puts.retain(|_| {
                let drop = next.next_if_eq(&&at).is_some();
                at += 1;
                !drop
            });
        }
        let dropped = dropped_at.len();
        self.duplicates.fetch_add(dropped as u64, Ordering::Relaxed);
        Admitted {
            spans,
            dropped,
            put_bytes: put_bytes + added - removed,
        }
    }

    /// Transaction `txid` applied: its ids join the table. Call under the queue lock.
    pub fn committed(&self, txid: u64) {
        let mut st = self.state.lock();
        let Some(i) = st.pending.iter().position(|(t, _)| *t == txid) else {
            return;
        };
        let (_, spans) = st.pending.swap_remove(i);
        let (now, own) = (now_ms(), st.own);
        for s in &spans {
            st.table.insert(s, now, own);
        }
    }

    /// Transaction `txid` failed: its ids are free again.
    pub fn abandon(&self, txid: u64) {
        self.state.lock().pending.retain(|(t, _)| *t != txid);
    }

    /// The image of the committed table plus `pending` (the spans of transactions pending
    /// before a checkpoint's positions). Call under the queue lock; drops expired origins.
    pub fn image<'a>(&self, pending: impl Iterator<Item = &'a IdSpan>) -> DedupImage {
        let mut st = self.state.lock();
        let (now, own) = (now_ms(), st.own);
        st.table.expire(now.saturating_sub(self.expiry_ms), own);
        let mut table = st.table.clone();
        for s in pending {
            table.insert(s, now, own);
        }
        DedupImage {
            own_origin: own,
            own_next: st.own_next,
            origins: table.iter().map(|(id, o)| (id, o.clone())).collect(),
        }
    }

    /// Puts dropped as duplicates since open, and origins held.
    pub fn stats(&self) -> (u64, u64) {
        let origins = self.state.lock().table.origins() as u64;
        (self.duplicates.load(Ordering::Relaxed), origins)
    }
}

/// Whether `span` lies within one of `spans` (a duplicate inside one transaction).
/// Adds `span` to a transaction's spans, merged into the last one when it continues it: ids
/// from one upstream come in order, so a batch's spans stay one per origin run and
/// [`covered`] scans a few, not one per event before it.
fn extend(spans: &mut Vec<IdSpan>, span: IdSpan) {
    match spans.last_mut() {
        Some(last) if last.origin == span.origin && last.hi == span.lo => last.hi = span.hi,
        _ => spans.push(span),
    }
}

fn covered(spans: &[IdSpan], span: &IdSpan) -> bool {
    spans
        .iter()
        .any(|s| s.origin == span.origin && s.lo <= span.lo && span.hi <= s.hi)
}

/// The table an open starts from: a checkpoint's `image`.
pub(super) fn table_from(image: &DedupImage, limits: DedupLimits) -> DedupTable {
    let mut t = DedupTable::new(limits);
    for (id, o) in &image.origins {
        t.restore(*id, o.clone());
    }
    t
}

/// The state an open recovered: the checkpoint's (if any) and the ids of every transaction
/// replayed after it.
pub(super) fn recovered(
    config: &FileChannelConfig,
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> Dedup {
    let empty = DedupImage::default();
    let img = image.map_or(&empty, |i| &i.dedup);
    let table = recovered_table(config, image, committed);
    Dedup::new(config.event_ids, config.dedup_expiry_ms, table, img)
}

/// The table an open rebuilds: the checkpoint's, then every replayed commit's spans.
pub(super) fn recovered_table(
    config: &FileChannelConfig,
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> DedupTable {
    let empty = DedupImage::default();
    let img = image.map_or(&empty, |i| &i.dedup);
    let mut table = table_from(img, config.dedup_limits);
    let now = now_ms();
    for s in committed.iter().flat_map(|t| &t.ids) {
        table.insert(s, now, img.own_origin);
    }
    table
}

/// The cursors an open recovered: the checkpoint's, then each replayed commit's in commit
/// order (the last committed value of a key wins). Without a checkpoint there are none: a
/// full replay no longer sees the commits of deleted segments, so a value it found could be
/// older than the last committed one, and a sink that cut its output back to it would cut
/// committed output.
pub(super) fn recovered_cursors(
    image: Option<&CheckpointImage>,
    committed: &[CommittedTxn],
) -> BTreeMap<String, Vec<u8>> {
    if image.is_none() {
        if committed.iter().any(|t| !t.cursors.is_empty()) {
            tracing::warn!("no checkpoint: sink cursors are not recovered (their sinks deliver at least once until the next commit)");
        }
        return BTreeMap::new();
    }
    let mut map: BTreeMap<String, Vec<u8>> = image
        .map(|i| i.cursors.iter().cloned().collect())
        .unwrap_or_default();
    for c in committed.iter().flat_map(|t| &t.cursors) {
        map.insert(c.key.clone(), c.value.clone());
    }
    map
}
