//! A transaction's commit: staged (its records encoded, appended and registered), then
//! finished (its fdatasync awaited, shared with concurrent committers) and applied, alone
//! or with others as one group ([`Transaction::commit_all`]). A commit that does not take
//! effect can hand its puts back ([`NotCommitted`]), so a caller that retries keeps no copy.

use std::sync::atomic::Ordering;

use super::{PutSeqs, Transaction, TxnRecords};
use crate::channel::bound::TAKE_RESERVE_BYTES;
use crate::channel::error::ChannelError;
use crate::channel::inner::Inner;
use crate::channel::ledger::{Pending, Ticket};
use crate::event::Event;
use crate::wal::record::CommitExtras;

/// A commit that did not take effect ([`Transaction::commit_returning`]): why, and the puts
/// it held, in put order, to be put again. With `eventIds` they carry the ids the commit gave
/// them (free again: a retry commits them under the same ids), and puts it dropped as
/// duplicates of earlier commits are not among them (committed before).
#[derive(Debug)]
pub struct NotCommitted {
    /// Why.
    pub error: ChannelError,
    /// The transaction's puts.
    pub puts: Vec<Event>,
}

/// A commit written and registered, waiting for its fdatasync ([`Transaction::stage`]).
struct Staged {
    ticket: Ticket,
    /// The first sequence number of its records.
    base: u64,
    /// Its puts.
    np: usize,
    /// Its takes.
    nt: usize,
}

impl Transaction {
    /// Makes the transaction durable and applies it. On error nothing of it took effect
    /// as far as this process can tell (taken events are back in the queue, puts are dropped);
    /// after a failed fsync the channel is poisoned and a reopen tells what reached the disk.
    pub fn commit(self) -> Result<(), ChannelError> {
        self.commit_returning().map_err(|n| n.error)
    }

    /// [`Transaction::commit`], handing the puts back when the commit does not take effect.
    pub fn commit_returning(mut self) -> Result<(), NotCommitted> {
        match self.stage()? {
            Some(staged) => self.finish(staged),
            None => Ok(()),
        }
    }

    /// Commits `txns` in order as one group: every one's records are written before any
    /// waits for its fdatasync, so one fdatasync (group commit) covers the whole group where
    /// one per transaction would otherwise follow one another. Each stays a transaction of its
    /// own (its `transactionCapacity`, its commit record, applied in order); the outcomes
    /// come back in order. A transaction that cannot be written ends the group there: it and
    /// every later one are rolled back (a later one is refused with
    /// [`ChannelError::GroupCut`]), so what commits is always a prefix of the group, as when
    /// they are committed one by one and the caller stops at the first failure.
    pub fn commit_all(txns: Vec<Transaction>) -> Vec<Result<(), ChannelError>> {
        Self::commit_all_returning(txns)
            .into_iter()
            .map(|r| r.map_err(|n| n.error))
            .collect()
    }

    /// [`Transaction::commit_all`], handing back the puts of each transaction that does not
    /// take effect.
    pub fn commit_all_returning(txns: Vec<Transaction>) -> Vec<Result<(), NotCommitted>> {
        let total = txns.len();
        let mut staged = Vec::with_capacity(total);
        let mut cut = false;
        for (i, mut tx) in txns.into_iter().enumerate() {
            if cut {
                tx.done = true;
                let puts = tx.abort();
                staged.push((
                    tx,
                    Err(NotCommitted {
                        error: ChannelError::GroupCut {
                            position: i + 1,
                            total,
                        },
                        puts,
                    }),
                ));
                continue;
            }
            let s = tx.stage();
            cut = s.is_err();
            staged.push((tx, s));
        }
        staged
            .into_iter()
            .map(|(mut tx, s)| match s? {
                Some(st) => tx.finish(st),
                None => Ok(()),
            })
            .collect()
    }

    /// A commit's first half: encodes and appends the records and registers them (no
    /// fdatasync yet). `None` when there is nothing to write (empty, or every put a duplicate).
    /// On error the transaction is rolled back.
    fn stage(&mut self) -> Result<Option<Staged>, NotCommitted> {
        self.done = true;
        if self.is_empty() {
            return Ok(None);
        }
        let inner = self.inner.clone();
        if let Err(error) = inner.check_open() {
            let puts = self.abort();
            return Err(NotCommitted { error, puts });
        }
        let ids = self.admit_ids();
        if self.is_empty() {
            // Every put was a duplicate: committed before, nothing to write.
            inner
                .bound
                .release(std::mem::take(&mut self.bytes_reserved));
            return Ok(None);
        }
        let np = self.puts.len();
        let nt = self.takes.len();
        let base = inner
            .seq_next
            .fetch_add((np + nt + 1) as u64, Ordering::SeqCst);
        let mut txn = TxnRecords::new(
            inner.salt_hint(),
            self.txid,
            (&self.puts, PutSeqs::From(base), Some(self.put_bytes)),
            (&self.takes, base + np as u64),
            (
                base + (np + nt) as u64,
                CommitExtras {
                    ids: &ids,
                    cursors: &self.cursors,
                },
            ),
        )
        .sealed(inner.seals());
        let min_free = (np > 0).then_some(inner.config.minimum_required_space_bytes);
        // No gate: the ledger lets a checkpoint see this commit as pending (see `ledger`).
        let (taken, cursors) = (&self.takes, &self.cursors);
        let commit_seq = base + (np + nt) as u64;
        let appended = inner.append_registered(&mut txn, min_free, |txn, a| {
            let puts = (base..).zip(txn.put_pointers(a)).collect();
            let extras = (ids.clone(), cursors.clone(), commit_seq);
            Pending::commit(taken, puts, a.segment_id, extras)
        });
        drop(txn);
        match appended {
            Ok(ticket) => Ok(Some(Staged {
                ticket,
                base,
                np,
                nt,
            })),
            Err(e) => Err(self.failed(e.into())),
        }
    }

    /// A commit's second half: waits until the staged records are durable and applies them.
    fn finish(&mut self, staged: Staged) -> Result<(), NotCommitted> {
        let inner = self.inner.clone();
        if let Err(e) = inner.make_durable(&staged.ticket) {
            return Err(self.failed(e.into()));
        }
        self.apply(&inner, &staged.ticket, staged.base, staged.nt);
        // The records are written (counted as such); each queued event keeps the room of its
        // future take.
        let keep = (staged.np as u64).saturating_mul(TAKE_RESERVE_BYTES);
        let written = std::mem::take(&mut self.bytes_reserved).saturating_sub(keep);
        inner.bound.release(written);
        Ok(())
    }

    /// Counts a failed commit and rolls the transaction back, its puts handed back.
    fn failed(&mut self, error: ChannelError) -> NotCommitted {
        let c = &self.inner.counters;
        if !self.puts.is_empty() {
            c.put_errors.fetch_add(1, Ordering::Relaxed);
        }
        if !self.takes.is_empty() {
            c.take_errors.fetch_add(1, Ordering::Relaxed);
        }
        let puts = self.abort();
        NotCommitted { error, puts }
    }

    /// Makes a durable commit visible: its puts to takers, its takes finished, in log order.
    fn apply(&mut self, inner: &Inner, ticket: &Ticket, base: u64, nt: usize) {
        inner.wait_applicable(ticket);
        // Durable, and not yet visible to takers.
        inner.events.insert(base, &mut self.puts);
        let finished = {
            let mut st = inner.state.lock();
            let effects = inner.applying(ticket);
            inner.applied_extras(self.txid, &effects);
            st.apply_commit(self.txid, ticket.appended.segment_id, effects.added)
        };
        debug_assert_eq!(
            finished, nt as u64,
            "a commit finished other takes than its own"
        );
        inner.capacity.release(finished);
        inner.bound.note_taken(finished);
        if finished > 0 {
            inner.events.takes.took();
        }
        inner.counters.commits.fetch_add(1, Ordering::Relaxed);
    }
}
