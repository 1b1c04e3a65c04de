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
//! The channel's cursors (`Transaction::set_cursor`) are recovered here too (`recovered.rs`,
//! beside the ids' table; `spans.rs` keeps a transaction's spans sorted): like the ids,
//! they are carried by commit records and checkpoints.
//!
//! Lock order: the queue lock → `state` (the commit path takes `state` alone before it
//! appends).

mod conflicts;
mod notes;
mod recovered;
mod spans;

pub(super) use recovered::{recovered, recovered_cursors, recovered_table};

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::home::Found;
use crate::checkpoint::format::DedupImage;
use crate::dedup::{coalesce, DedupTable, IdPrefix, IdSpan, EVENT_ID_HEADER, ID_MAX};
use crate::event::Event;
use crate::wal::record::put_record_len;
use conflicts::{digest, key, Conflict, Recent};
use spans::{add_sorted, covered, drop_at};

#[derive(Debug)]
struct State {
    table: DedupTable,
    own: u64,
    own_next: u64,
    /// Transactions admitted and not yet applied or abandoned.
    pending: Vec<Pending>,
    /// The body digests of the spans committed last (`conflicts.rs`).
    recent: Recent,
}

/// A transaction admitted and not yet applied or abandoned.
#[derive(Debug)]
struct Pending {
    txid: u64,
    /// Its spans, coalesced.
    spans: Vec<IdSpan>,
    /// The window keys and body digests of the puts that carried ids.
    digests: Vec<(u64, u64)>,
}

impl State {
    fn seen(&self, span: &IdSpan) -> bool {
        self.table.contains(span) || self.pending.iter().any(|p| covered(&p.spans, span))
    }

    /// Whether `span` names ids of this channel's own origin that it has not given yet: no
    /// event can carry them but a forged one.
    fn unissued(&self, span: &IdSpan) -> bool {
        span.origin == self.own && span.hi >= self.own_next
    }

    /// Reserves `n` ids of the own origin, the first one's number returned. When the origin's
    /// numbers would pass [`ID_MAX`] (only a damaged or forged state gets near it), the
    /// channel takes a fresh origin first: its ids were never given, so none repeats.
    fn reserve_own(&mut self, n: u64) -> (u64, u64) {
        if self.own_next.checked_add(n).is_none_or(|end| end > ID_MAX) {
            let old = self.own;
            self.own = fresh_origin_besides(&self.table, old);
            self.own_next = 1;
            tracing::warn!(
                old_origin = %format!("{old:016x}"),
                new_origin = %format!("{:016x}", self.own),
                "the channel's own event ids reached their limit; it numbers new events under a fresh origin"
            );
        }
        let first = self.own_next;
        self.own_next += n;
        (self.own, first)
    }

    /// The lookups of one transaction under the lock: which puts are duplicates, which get
    /// fresh own ids (none, or one this channel refuses), the spans the rest commit.
    /// `ids` are the puts' ids with their bodies' digests.
    fn plan(&mut self, txid: u64, ids: &[Option<(IdSpan, u64)>]) -> Plan {
        let mut plan = Plan::default();
        let mut digests = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match id {
                Some((span, _)) if self.unissued(span) => {
                    plan.refused += 1;
                    plan.fresh.push(i);
                }
                Some((span, d)) if self.seen(span) || covered(&plan.spans, span) => {
                    plan.dropped_at.push(i);
                    match self.recent.get(key(span)) {
                        Some(kept) if kept != *d => plan.conflicts.push(Conflict {
                            span: *span,
                            kept,
                            dropped: *d,
                        }),
                        _ => {}
                    }
                }
                Some((span, d)) => {
                    add_sorted(&mut plan.spans, *span);
                    digests.push((key(span), *d));
                }
                None => plan.fresh.push(i),
            }
        }
        let (own, first) = self.reserve_own(plan.fresh.len() as u64);
        (plan.own, plan.first) = (own, first);
        if !plan.fresh.is_empty() {
            plan.spans.push(IdSpan {
                origin: own,
                lo: first - 1,
                hi: first - 1 + plan.fresh.len() as u64,
            });
        }
        coalesce(&mut plan.spans);
        if !plan.spans.is_empty() {
            self.pending.push(Pending {
                txid,
                spans: plan.spans.clone(),
                digests,
            });
        }
        plan
    }
}

/// A fresh random origin that is neither `old` nor one the table holds.
fn fresh_origin_besides(table: &DedupTable, old: u64) -> u64 {
    let mut o = fresh_origin();
    while o == old || table.origin(o).is_some() {
        o = o.wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1);
    }
    o
}

/// What [`State::plan`] decided for a transaction's puts.
#[derive(Debug, Default)]
struct Plan {
    /// Puts dropped as duplicates, by index.
    dropped_at: Vec<usize>,
    /// Puts that get the next own ids, by index.
    fresh: Vec<usize>,
    /// Of those, puts whose id named the own origin's ids not given yet.
    refused: u64,
    /// The ids the transaction commits, coalesced.
    spans: Vec<IdSpan>,
    /// Of the puts dropped, those whose body differs from the one committed under their id.
    conflicts: Vec<Conflict>,
    own: u64,
    first: u64,
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
    /// Puts whose id the channel would not take (malformed, implausible, or an own id not
    /// given yet): they got fresh ids.
    refused: AtomicU64,
    /// Puts dropped as duplicates of a different event (`conflicts.rs`).
    conflicts: AtomicU64,
    /// When the next line about conflicts may be logged (ms).
    conflicts_log_after_ms: AtomicU64,
    /// When the next line about dropped duplicates or refused ids may be logged (ms).
    log_after_ms: AtomicU64,
    /// When the next line about origins the full table turned away may be logged (ms).
    turned_away_log_after_ms: AtomicU64,
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

/// Least time between two log lines about dropped duplicates or refused ids.
const DEDUP_LOG_INTERVAL_MS: u64 = 10_000;

impl Dedup {
    /// The state an open rebuilt: `image` from its checkpoint (own origin 0: a fresh one),
    /// then every replayed commit's spans inserted into `table`; `home`, what the open found
    /// of where the origin was taken (`home.rs`): a channel copied elsewhere numbers its new
    /// events under a fresh origin.
    pub fn new(
        enabled: bool,
        expiry_ms: u64,
        table: DedupTable,
        image: &DedupImage,
        home: &Found,
    ) -> Self {
        let own = match home {
            Found::Home(o) if *o != 0 => *o,
            Found::Moved { old, why } => {
                let new = fresh_origin_besides(&table, *old);
                if enabled {
                    tracing::warn!(
                        old_origin = %format!("{old:016x}"),
                        new_origin = %format!("{new:016x}"),
                        why = %why,
                        "this channel's files were made elsewhere: its new events are numbered under a new event-id origin, so they never share ids with the channel it was copied from; the events it holds keep their ids (a collector that has them drops them once)"
                    );
                }
                new
            }
            _ if image.own_origin == 0 => fresh_origin(),
            _ => image.own_origin,
        };
        let image_next = if own == image.own_origin {
            image.own_next
        } else {
            1
        };
        let own_next = image_next
            .max(table.max_id(own).map_or(1, |m| m.saturating_add(1)))
            .max(1);
        let mut state = State {
            table,
            own,
            own_next,
            pending: Vec::new(),
            recent: Recent::default(),
        };
        // A state whose own numbers are already past the limit (damaged, or forged before
        // ids were checked) moves to a fresh origin now rather than at the first commit.
        state.reserve_own(0);
        Dedup {
            enabled,
            expiry_ms,
            state: Mutex::new(state),
            duplicates: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            conflicts_log_after_ms: AtomicU64::new(0),
            log_after_ms: AtomicU64::new(0),
            turned_away_log_after_ms: AtomicU64::new(0),
        }
    }

    /// The origin the channel numbers its new events under.
    pub fn own_origin(&self) -> u64 {
        self.state.lock().own
    }

    /// Whether puts get ids.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Drops the puts of transaction `txid` committed before (or in flight), gives the
    /// others without an id (or with one the channel refuses: malformed, not
    /// [`IdSpan::plausible`], or an own id not given yet) the next ones of the own origin,
    /// and holds their ids pending.
    pub fn admit(&self, txid: u64, puts: &mut Vec<Event>, put_bytes: usize) -> Admitted {
        // Each put's id, parsed and checked before the lock is taken.
        let mut refused = 0u64;
        let ids: Vec<Option<(IdSpan, u64)>> = puts
            .iter()
            .map(|ev| {
                let text = ev.headers.get(EVENT_ID_HEADER)?;
                let span = IdSpan::parse(text).filter(IdSpan::plausible);
                refused += u64::from(span.is_none());
                span.map(|s| (s, digest(&ev.body)))
            })
            .collect();
        // Under the lock only what must be: the lookups and the own ids' reservation (one
        // span); the headers are written after it, so committers do not queue behind them.
        let plan = self.state.lock().plan(txid, &ids);
        refused += plan.refused;
        if !plan.conflicts.is_empty() {
            self.note_conflicts(&plan.conflicts);
        }
        // The record bytes change by the headers added (less any replaced) and the
        // duplicates dropped: counted here, not summed again over every put.
        let pair = |v: &str| 8 + EVENT_ID_HEADER.len() + v.len();
        let (mut added, mut removed) = (0usize, 0usize);
        let prefix = IdPrefix::new(plan.own);
        for (k, &i) in plan.fresh.iter().enumerate() {
            let id = prefix.one(plan.first + k as u64);
            let id = id.as_str();
            removed += puts[i].headers.get(EVENT_ID_HEADER).map_or(0, pair);
            added += pair(id);
            puts[i].headers.insert(EVENT_ID_HEADER, id);
        }
        let dropped = plan.dropped_at.len();
        if dropped > 0 || refused > 0 {
            self.note(puts, &plan.dropped_at, refused);
        }
        removed += plan
            .dropped_at
            .iter()
            .map(|&i| put_record_len(&puts[i]))
            .sum::<usize>();
        drop_at(puts, &plan.dropped_at);
        self.duplicates.fetch_add(dropped as u64, Ordering::Relaxed);
        Admitted {
            spans: plan.spans,
            dropped,
            put_bytes: put_bytes + added - removed,
        }
    }

    /// Transaction `txid` applied: its ids join the table. Call under the queue lock.
    pub fn committed(&self, txid: u64) {
        let mut st = self.state.lock();
        let Some(i) = st.pending.iter().position(|p| p.txid == txid) else {
            return;
        };
        let Pending { spans, digests, .. } = st.pending.swap_remove(i);
        for (k, d) in digests {
            st.recent.insert(k, d);
        }
        let (now, own) = (now_ms(), st.own);
        let mut turned_away = None;
        for s in &spans {
            if !st.table.insert(s, now, own) {
                turned_away.get_or_insert(s.origin);
            }
        }
        if let Some(origin) = turned_away {
            let (total, limits) = (st.table.turned_away(), st.table.limits());
            drop(st);
            self.note_turned_away(origin, total, limits);
        }
    }

    /// Transaction `txid` failed: its ids are free again.
    pub fn abandon(&self, txid: u64) {
        self.state.lock().pending.retain(|p| p.txid != txid);
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

    /// Puts dropped as duplicates since open, puts whose id was refused (given a fresh
    /// one), origins held, and new origins the full table did not remember since open.
    pub fn stats(&self) -> (u64, u64, u64, u64) {
        let st = self.state.lock();
        let (origins, turned_away) = (st.table.origins() as u64, st.table.turned_away());
        drop(st);
        (
            self.duplicates.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            origins,
            turned_away,
        )
    }

    /// Puts dropped as duplicates of a different event since open (`conflicts.rs`).
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// Whether the table holds ids of `origin` (a source may then take its ids whatever
    /// its peers' quotas: they cost the table no new origin).
    pub fn holds_origin(&self, origin: u64) -> bool {
        self.state.lock().table.origin(origin).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::DedupLimits;

    #[test]
    fn a_state_whose_own_ids_reached_the_limit_numbers_under_a_fresh_origin_without_overflow() {
        let own = 0x0a;
        let mut table = DedupTable::new(DedupLimits::default());
        // What a forged span of the own origin left in a checkpoint before ids were checked.
        let forged = IdSpan::new(own, u64::MAX - 1, u64::MAX).unwrap();
        table.insert(&forged, 0, own);
        let image = DedupImage {
            own_origin: own,
            own_next: 5,
            origins: Vec::new(),
        };
        let dedup = Dedup::new(true, u64::MAX, table, &image, &Found::None);
        let mut puts: Vec<Event> = (0..3).map(|i| Event::new(format!("e{i}"))).collect();
        let admitted = dedup.admit(1, &mut puts, 0);
        assert_eq!(admitted.dropped, 0);
        assert_eq!(admitted.spans.len(), 1);
        let span = admitted.spans[0];
        assert_ne!(span.origin, own);
        assert_eq!((span.lo, span.hi), (0, 3));
        for (i, e) in puts.iter().enumerate() {
            let id = IdSpan::parse(e.headers.get(EVENT_ID_HEADER).unwrap()).unwrap();
            assert_eq!(id, IdSpan::one(span.origin, i as u64 + 1).unwrap());
        }
    }
}
