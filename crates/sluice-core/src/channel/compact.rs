//! Copying the last few live events of an old segment forward, so that the segment can be
//! deleted at the next checkpoint and disk use follows the live data.
//!
//! The queue is FIFO, so the segments behind the head hold no live events and go by
//! themselves; what stays is the segment straddling the head of each directory, up to
//! `maxFileSize` of mostly taken events pinned by a few live ones (and segments pinned by events
//! a transaction held for a long time, once it lets them go). After each checkpoint, every such
//! old segment (wholly before its directory's replay position, not active, at least
//! [`COMPACT_MIN_SEGMENT_BYTES`] or half of `maxFileSize` long) with at most
//! [`COMPACT_MAX_EVENTS`] live events, none of them in flight, all near the head of the queue
//! and in the second half of the segment (at least half of it taken, so that a copy never
//! writes more than it frees: under `capacityBytes` small segments of wholly live events were
//! all copied at each checkpoint), has them rewritten to the active segment of a directory: transactions of at most [`COPY_CHUNK_EVENTS`] put records (each a
//! short append, so commits to the same directory never wait long behind the copy) that keep
//! the events' **original sequence numbers** (their queue keys), so their places in the queue
//! do not change. Replay
//! applies transactions in commit order, so the copy's pointer replaces the original's; a take
//! names the event by its sequence number, so it removes whichever copy is current.
//!
//! While being copied the events are held like a take of an internal transaction (a concurrent
//! taker sees the next events, as with any other open transaction) and go back to the queue at
//! their keys with their new pointers once the copy is written (and synced, with
//! `fsyncPerTransaction`; otherwise the next checkpoint syncs it before it deletes the old
//! segment), or with their old ones if it failed. A chunk written before a later one failed
//! is a valid copy: replay may point at it, and the old segment stays while the queue points
//! there. Like commits, the chunks go through the write ledger, so a checkpoint never waits
//! for them.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::error::ChannelError;
use super::inner::Inner;
use super::ledger::{Pending, Ticket};
use super::state::ReadyQueue;
use super::transaction::encode::{PutSeqs, TxnRecords};
use crate::event::Event;
use crate::wal::readahead::ReadAhead;
use crate::wal::writer::WalError;
use crate::wal::EventPtr;

/// Most live events copied out of one segment; a segment holding more is left alone.
pub const COMPACT_MAX_EVENTS: u64 = 1000;
/// A segment is worth compacting only once it is at least this long (or half of
/// `maxFileSize`, if that is less): copying up to [`COMPACT_MAX_EVENTS`] events then reclaims
/// many times what it writes, and the small segment left by each reopen is not rewritten on
/// every restart.
pub const COMPACT_MIN_SEGMENT_BYTES: u64 = 16 << 20;
/// Queue entries looked at from the head (under the queue lock) to find the segments worth
/// compacting: a segment whose live events are not all among them is not at the head.
const HEAD_SCAN: usize = 4 * COMPACT_MAX_EVENTS as usize;
/// Queue entries looked at (from the head, under the queue lock) to find a segment's events.
const SCAN_BUDGET: usize = 100_000;
/// Events per transaction of a copy forward: each is one append under the writer's lock,
/// which commits to the same directory wait for, so it stays about one put batch long.
pub const COPY_CHUNK_EVENTS: usize = 100;

/// Copies forward the live events of every old segment that holds only a few; returns how
/// many events were copied.
pub(super) fn compact(inner: &Inner, positions: &[u32]) -> Result<u64, ChannelError> {
    let min_len = COMPACT_MIN_SEGMENT_BYTES.min(inner.config.segment_bytes_max() / 2);
    // The table is read before the queue lock, which is held only to read live counts.
    let old: Vec<(u32, crate::wal::table::SegmentEntry)> = inner
        .table
        .all()
        .into_iter()
        .filter(|(id, e)| positions.get(e.dir_index).is_some_and(|p| id < p))
        .collect();
    let few: Vec<(u32, u64, u32, crate::wal::table::SegmentEntry)> = {
        let st = inner.state.lock();
        let head = head_segments(st.ready());
        old.into_iter()
            .map(|(id, e)| (id, st.live_in(id), e))
            .filter(|(_, live, _)| (1..=COMPACT_MAX_EVENTS).contains(live))
            .filter_map(|(id, live, e)| match head.get(&id) {
                // Every live event of the segment is near the head of the queue.
                Some(&(n, first)) if n == live => Some((id, live, first, e)),
                _ => None,
            })
            .collect()
    };
    // Worth copying only when at least half of the segment is taken: its live events are
    // its last ones (the queue is FIFO), from the first one's offset to its end.
    let candidates: Vec<(u32, u64)> = few
        .into_iter()
        .filter(|(_, _, first, e)| {
            e.file
                .len()
                .is_ok_and(|len| len >= min_len && len - u64::from(*first).min(len) <= len / 2)
        })
        .map(|(id, live, _, _)| (id, live))
        .collect();
    let mut copied = 0;
    for (segment, live) in candidates {
        copied += copy_forward(inner, segment, live)?;
    }
    Ok(copied)
}

/// Per segment, the live events among the first [`HEAD_SCAN`] of the queue and the lowest
/// offset among them.
fn head_segments(ready: &ReadyQueue) -> HashMap<u32, (u64, u32)> {
    let mut head: HashMap<u32, (u64, u32)> = HashMap::new();
    for (_, ptr) in ready.iter().take(HEAD_SCAN) {
        let e = head.entry(ptr.segment).or_insert((0, ptr.offset));
        e.0 += 1;
        e.1 = e.1.min(ptr.offset);
    }
    head
}

fn copy_forward(inner: &Inner, segment: u32, live: u64) -> Result<u64, ChannelError> {
    inner.check_open()?;
    let txid = inner.txid_next.fetch_add(1, Ordering::Relaxed);
    // Hold the events like a take, or leave the segment alone if any is in flight elsewhere.
    // The scan stops once it has found all `live` of them.
    let held = inner
        .state
        .lock()
        .hold(txid, segment, SCAN_BUDGET, live as usize);
    let Some(held) = held else {
        return Ok(0);
    };
    let mut ra = ReadAhead::default();
    let mut events = Vec::with_capacity(held.len());
    for (seq, ptr) in &held {
        match ra.read_event(&inner.table, *ptr, *seq) {
            Ok(ev) => events.push(ev),
            Err(e) => {
                // Leave the damage where it is: the take of that event reports it.
                tracing::warn!(segment, error = %e, "not compacting a segment with an unreadable event");
                inner.state.lock().untake(txid);
                return Ok(0);
            }
        }
    }
    debug_assert_eq!(events.len(), held.len(), "an event read for each one held");
    // Small transactions, so that no commit waits long behind one append of the copy.
    let mut tickets = Vec::with_capacity(held.len().div_ceil(COPY_CHUNK_EVENTS));
    for (chunk, evs) in held
        .chunks(COPY_CHUNK_EVENTS)
        .zip(events.chunks(COPY_CHUNK_EVENTS))
    {
        match append_chunk(inner, chunk, evs) {
            Ok(t) => tickets.push(t),
            Err(e) => {
                for t in &tickets {
                    inner.discard(t);
                }
                inner.state.lock().untake(txid);
                if matches!(e, WalError::DiskFull { .. }) {
                    return Ok(0);
                }
                return Err(e.into());
            }
        }
    }
    for t in &tickets {
        inner.wait_applicable(t);
    }
    {
        let mut st = inner.state.lock();
        let mut moved: Vec<EventPtr> = Vec::with_capacity(held.len());
        for t in &tickets {
            moved.extend(inner.applying(t).added.iter().map(|(_, p)| *p));
        }
        st.apply_copy(txid, segment, &moved);
    }
    tracing::debug!(
        segment,
        events = held.len(),
        "copied the last live events of a segment forward"
    );
    Ok(held.len() as u64)
}

/// Writes one chunk of held events (seq, old pointer) as a transaction of put records that
/// keep their seqs, and makes it durable (with `fsyncPerTransaction`).
fn append_chunk(
    inner: &Inner,
    chunk: &[(u64, EventPtr)],
    events: &[Event],
) -> Result<Ticket, WalError> {
    let txid = inner.txid_next.fetch_add(1, Ordering::Relaxed);
    let commit_seq = inner.seq_next.fetch_add(1, Ordering::SeqCst);
    let mut txn = TxnRecords::new(
        inner.salt_hint(),
        txid,
        (events, PutSeqs::Listed(chunk), None),
        (&[], commit_seq),
        (commit_seq, Default::default()),
    )
    .sealed(inner.seals());
    let min_free = Some(inner.config.minimum_required_space_bytes);
    let ticket = inner.append_registered(&mut txn, min_free, |txn, a| {
        let seqs = chunk.iter().map(|(seq, _)| *seq);
        Pending::copy(seqs.zip(txn.put_pointers(a)).collect())
    })?;
    inner.make_durable(&ticket)?;
    Ok(ticket)
}
