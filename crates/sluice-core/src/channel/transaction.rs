//! Transactions: a put list and a take list, bounded by `transactionCapacity`, that take
//! effect together at `commit` or not at all.
//!
//! Nothing reaches the disk before `commit`: it encodes every put, a take record per taken
//! event and a commit record carrying the counts, appends them as one write and waits for
//! the fsync (shared with concurrent committers). Only then do the puts become visible to
//! takers and the takes become final. `rollback` (or dropping the transaction) returns taken
//! events to their places at the head of the queue and discards the puts.

mod buffers;
mod cached;
mod commit;
pub(super) mod encode;

pub use self::cached::Cached;
pub use self::commit::NotCommitted;
pub(super) use self::encode::{PutSeqs, TxnRecords};

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::bound::{PUT_EXTRA_BYTES, TAKE_RESERVE_BYTES};
use super::config::RecoveryPolicy;
use super::config::CAPACITY_MAX;
use super::error::ChannelError;
use super::inner::Inner;
use super::reclaim::make_room;
use crate::dedup::{IdSpan, ID_HEADER_BYTES_MAX};
use crate::event::Event;
use crate::wal::readahead::ReadAhead;
use crate::wal::record::{checked_put_len, Cursor, EncodeError, RECORD_BYTES_MAX};
use crate::wal::record::{CURSORS_PER_COMMIT_MAX, CURSOR_KEY_BYTES_MAX};
use crate::wal::EventPtr;

// A commit record counts its puts and takes in 32 bits; a transaction holds at most
// `transactionCapacity` (at most CAPACITY_MAX) of each.
const _: () = assert!(CAPACITY_MAX <= u32::MAX as u64);

/// Room a transaction's put or take list gets at its first event, so a batch of up to this
/// many grows its list once instead of doubling it up from one.
const LIST_RESERVE_MAX: usize = 128;

/// `len` when the id header `eventIds` may add still fits a record.
fn room_for_id(inner: &Inner, len: usize) -> Result<usize, EncodeError> {
    if inner.dedup.enabled() && len + ID_HEADER_BYTES_MAX > RECORD_BYTES_MAX {
        return Err(EncodeError::TooLarge(len + ID_HEADER_BYTES_MAX));
    }
    Ok(len)
}

/// The first reservation of a put or take list under `transactionCapacity` `cap`.
fn list_reserve(cap: u64) -> usize {
    usize::try_from(cap).map_or(LIST_RESERVE_MAX, |c| c.min(LIST_RESERVE_MAX))
}

/// Adds a taken entry to a take list of capacity `cap` (its first one readies the list and
/// the read-ahead window).
fn note_take(
    takes: &mut Vec<(u64, EventPtr)>,
    readahead: &mut ReadAhead,
    cap: u64,
    entry: (u64, EventPtr),
) {
    if takes.capacity() == 0 {
        takes.reserve(list_reserve(cap));
        // The read-ahead window reuses a pooled buffer (given back on drop).
        *readahead = ReadAhead::with_buffer(buffers::take(0));
    }
    takes.push(entry);
}

/// An open transaction. `commit(self)` and `rollback(self)` consume it; dropping it rolls back.
#[derive(Debug)]
pub struct Transaction {
    inner: Arc<Inner>,
    txid: u64,
    puts: Vec<Event>,
    put_bytes: usize,
    /// Bytes the puts reserved under the byte bound (`channel::bound`).
    bytes_reserved: u64,
    takes: Vec<(u64, EventPtr)>,
    cursors: Vec<Cursor>,
    readahead: ReadAhead,
    done: bool,
}

impl Transaction {
    pub(super) fn new(inner: Arc<Inner>) -> Self {
        let txid = inner.txid_next.fetch_add(1, Ordering::Relaxed);
        Transaction {
            inner,
            txid,
            puts: Vec::new(),
            put_bytes: 0,
            bytes_reserved: 0,
            takes: Vec::new(),
            cursors: Vec::new(),
            readahead: ReadAhead::default(),
            done: false,
        }
    }

    /// Adds an event to the put list. Waits up to `keep-alive` for capacity; on failure the
    /// error carries the event back ([`ChannelError::into_event`]).
    pub fn put(&mut self, event: Event) -> Result<(), ChannelError> {
        let inner = &self.inner;
        if let Err(e) = inner.check_open() {
            inner.counters.put_errors.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        let cap = inner.config.transaction_capacity;
        if self.puts.len() as u64 >= cap {
            return Err(ChannelError::TransactionFull {
                event: Some(Box::new(event)),
                capacity: cap,
            });
        }
        let record_len = match checked_put_len(&event).and_then(|len| room_for_id(inner, len)) {
            Ok(len) => len,
            Err(e) => {
                return Err(ChannelError::EventTooLarge {
                    event: Some(Box::new(event)),
                    reason: e,
                })
            }
        };
        if !inner.capacity.acquire(inner.config.keep_alive) {
            return Err(ChannelError::Full {
                event: Some(Box::new(event)),
                capacity: inner.capacity.limit(),
            });
        }
        let cost = record_len as u64 + PUT_EXTRA_BYTES + TAKE_RESERVE_BYTES;
        if !inner
            .bound
            .try_reserve(cost, inner.checkpoint_reserve_bytes())
            && !make_room(inner, cost, inner.config.keep_alive)
        {
            inner.capacity.release(1);
            let c = &inner.counters;
            c.puts_refused_bytes.fetch_add(1, Ordering::Relaxed);
            inner.bound.note_refused();
            return Err(ChannelError::FullBytes {
                event: Some(Box::new(event)),
                capacity_bytes: inner.bound.limit(),
                used_bytes: inner.bound.used_bytes(inner.checkpoint_reserve_bytes()),
            });
        }
        self.bytes_reserved += cost;
        self.put_bytes += record_len;
        if self.puts.capacity() == 0 {
            self.puts.reserve(list_reserve(cap));
        }
        self.puts.push(event);
        debug_assert!(
            self.puts.len() as u64 <= cap,
            "a transaction past its capacity"
        );
        Ok(())
    }

    /// Takes the oldest committed event, or `None` at once if the queue is empty.
    pub fn take(&mut self) -> Result<Option<Event>, ChannelError> {
        let inner = &*self.inner;
        if let Err(e) = inner.check_open() {
            inner.counters.take_errors.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        loop {
            let cap = inner.config.transaction_capacity;
            if self.takes.len() as u64 >= cap {
                return Err(ChannelError::TransactionFull {
                    event: None,
                    capacity: cap,
                });
            }
            let Some((seq, ptr)) = inner.state.lock().take(self.txid) else {
                inner
                    .events
                    .caught_up(inner.seq_next.load(Ordering::SeqCst));
                return Ok(None);
            };
            note_take(&mut self.takes, &mut self.readahead, cap, (seq, ptr));
            if let Some(event) = inner.events.take(seq) {
                return Ok(Some(event));
            }
            match self.readahead.read_event(&inner.table, ptr, seq) {
                Ok(event) => return Ok(Some(event)),
                Err(e) => {
                    inner.counters.take_errors.fetch_add(1, Ordering::Relaxed);
                    if inner.config.recovery_policy == RecoveryPolicy::Salvage {
                        // The event is unreadable: taking it for good is all that can be done.
                        tracing::error!(error = %e, seq, "skipping an unreadable event (salvage)");
                        continue;
                    }
                    return Err(ChannelError::Read(e));
                }
            }
        }
    }

    /// Sets `key` to `value` when the transaction commits (replacing what an earlier call of
    /// this transaction set): the channel keeps the last committed value of each key, across
    /// crashes and reopens ([`FileChannel::cursor`](super::FileChannel::cursor)). A sink
    /// records in its take's commit how far its output reached.
    pub fn set_cursor(&mut self, key: &str, value: Vec<u8>) -> Result<(), ChannelError> {
        let cursor = Cursor {
            key: key.to_owned(),
            value,
        };
        let refuse = |why| ChannelError::Cursor {
            key: key.chars().take(CURSOR_KEY_BYTES_MAX).collect(),
            why,
        };
        if !cursor.fits() {
            return Err(refuse("key or value too long"));
        }
        if let Some(i) = self.cursors.iter().position(|c| c.key == key) {
            self.cursors[i] = cursor;
        } else if self.cursors.len() >= CURSORS_PER_COMMIT_MAX {
            return Err(refuse("too many cursors in one transaction"));
        } else {
            self.cursors.push(cursor);
        }
        Ok(())
    }

    /// Forgets cursor `key` when the transaction commits: an empty value, which
    /// [`FileChannel::cursor`](super::FileChannel::cursor) reads as none. It stays in the
    /// checkpoint as such, so an older commit replayed later cannot bring the value back.
    pub fn forget_cursor(&mut self, key: &str) -> Result<(), ChannelError> {
        self.set_cursor(key, Vec::new())
    }

    /// Number of puts in the transaction.
    pub fn put_count(&self) -> usize {
        self.puts.len()
    }

    /// Number of takes in the transaction.
    pub fn take_count(&self) -> usize {
        self.takes.len()
    }

    /// Discards the puts and returns taken events to the head of the queue.
    pub fn rollback(self) {
        drop(self.rollback_returning());
    }

    /// [`Transaction::rollback`], handing the puts back in put order (a caller that retries
    /// a refused batch keeps no copy of it).
    pub fn rollback_returning(mut self) -> Vec<Event> {
        self.done = true;
        self.abort()
    }

    /// Nothing to write: no puts, takes or cursors.
    fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.takes.is_empty() && self.cursors.is_empty()
    }

    /// With `eventIds`: drops the puts committed before, gives the others their ids, and
    /// returns the spans for the commit record (pending until applied or aborted).
    fn admit_ids(&mut self) -> Vec<IdSpan> {
        let inner = &self.inner;
        if !inner.dedup.enabled() || self.puts.is_empty() {
            return Vec::new();
        }
        let admitted = inner.dedup.admit(self.txid, &mut self.puts, self.put_bytes);
        inner.capacity.release(admitted.dropped as u64);
        self.put_bytes = admitted.put_bytes;
        admitted.spans
    }

    /// Rolls back: the ids pending freed, the puts' capacity released and the puts returned,
    /// the takes back at the head of the queue.
    fn abort(&mut self) -> Vec<Event> {
        let inner = &self.inner;
        if inner.dedup.enabled() {
            inner.dedup.abandon(self.txid);
        }
        inner.capacity.release(self.puts.len() as u64);
        inner
            .bound
            .release(std::mem::take(&mut self.bytes_reserved));
        let puts = std::mem::take(&mut self.puts);
        if !self.takes.is_empty() {
            inner.state.lock().untake(self.txid);
            self.takes.clear();
        }
        puts
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.done {
            drop(self.abort());
        }
        buffers::give_back(std::mem::take(&mut self.readahead).into_buffer());
    }
}
