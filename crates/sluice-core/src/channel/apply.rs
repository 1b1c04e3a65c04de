//! The life of a transaction's append under the write ledger (`ledger.rs`): append and
//! register, make durable, wait until applicable, take the pending effects to apply them
//! under the queue lock, or discard them. The commit path and the copy forward both go
//! through these.

use super::inner::Inner;
use super::ledger::{Pending, Ticket};
use crate::wal::writer::{Appended, Records, WalError};

impl Inner {
    /// Appends a transaction's records (see `Inner::append`) and registers them with the
    /// effects `pending` computes from the records and where they landed.
    pub(super) fn append_registered<R: Records>(
        &self,
        records: &mut R,
        min_free: Option<u64>,
        pending: impl FnOnce(&R, &Appended) -> Pending,
    ) -> Result<Ticket, WalError> {
        let (w, appended) = self.append(records, min_free)?;
        let dir = w.index();
        let len = records.len();
        self.ledgers[dir].register(&appended, len, pending(records, &appended));
        Ok(Ticket { dir, appended })
    }

    /// With `fsyncPerTransaction`, waits until the ticket's bytes are durable (group commit);
    /// otherwise the background fsync covers them (and a checkpoint syncs before it writes),
    /// but bytes still in the direct-I/O buffer are written first: once committed they are
    /// visible to takers, who read the file. On failure the registration is discarded.
    pub(super) fn make_durable(&self, t: &Ticket) -> Result<(), WalError> {
        let w = &self.writers[t.dir];
        let r = if self.config.fsync_per_transaction {
            w.sync_to(t.appended.end)
        } else if t.appended.pending_write {
            w.flush_to(t.appended.end)
        } else {
            return Ok(());
        };
        if r.is_err() {
            self.discard(t);
        }
        r
    }

    /// Forgets a registration whose transaction will not be applied (its fsync failed, or a
    /// copy forward gave up). Call it before returning taken events to the queue.
    pub(super) fn discard(&self, t: &Ticket) {
        let _ = self.ledgers[t.dir].take(t.appended.end);
    }

    /// Waits until the ticket may be applied (every earlier append of its directory is
    /// registered); call it without holding the queue lock.
    pub(super) fn wait_applicable(&self, t: &Ticket) {
        self.ledgers[t.dir].wait_covered(t.appended.end);
    }

    /// What a transaction applied sets beside the queue: its ids join the deduplication
    /// table, its cursors the channel's. Call under the queue lock, with [`Inner::applying`]'s
    /// effects.
    pub(super) fn applied_extras(&self, txid: u64, effects: &Pending) {
        if !effects.ids.is_empty() {
            self.dedup.committed(txid);
        }
        if !effects.cursors.is_empty() {
            let mut map = self.cursors.lock();
            for c in &effects.cursors {
                set_if_later(&mut map, &c.key, effects.commit_seq, &c.value);
            }
        }
    }

    /// The pending effects of a ticket, removed from its ledger to be applied. Call it under
    /// the queue lock, after [`Inner::wait_applicable`], so that no checkpoint sees the
    /// transaction both pending and applied, or neither.
    pub(super) fn applying(&self, t: &Ticket) -> Pending {
        let p = self.ledgers[t.dir].take(t.appended.end);
        // Registered by `append_registered`, removed only here or by `discard`.
        p.unwrap_or_else(|| panic!("ticket {t:?} applied twice or never registered"))
    }
}

/// The channel's cursors: each key's last committed value and the sequence number of the
/// commit record that set it.
pub(super) type Cursors = std::collections::BTreeMap<String, (u64, Vec<u8>)>;

/// Sets `key` to `value` as of the commit `commit_seq`, unless a later commit set it: two
/// commits of one sink may apply (and replay) out of their order when they went to different
/// data directories, and the cursor must be the later one's.
pub(super) fn set_if_later(map: &mut Cursors, key: &str, commit_seq: u64, value: &[u8]) {
    match map.get_mut(key) {
        Some((seq, _)) if *seq > commit_seq => {}
        Some(slot) => *slot = (commit_seq, value.to_vec()),
        None => {
            map.insert(key.to_owned(), (commit_seq, value.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two commits of one sink applied out of their order (different data directories): the
    /// later commit's value stays.
    #[test]
    fn a_cursor_set_by_an_earlier_commit_applied_later_is_not_taken() {
        let mut map = Cursors::new();
        set_if_later(&mut map, "k1", 20, b"second");
        set_if_later(&mut map, "k1", 10, b"first");
        assert_eq!(map["k1"], (20, b"second".to_vec()));
        set_if_later(&mut map, "k1", 30, b"third");
        assert_eq!(map["k1"], (30, b"third".to_vec()));
    }
}
