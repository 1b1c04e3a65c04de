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
                map.insert(c.key.clone(), c.value.clone());
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
