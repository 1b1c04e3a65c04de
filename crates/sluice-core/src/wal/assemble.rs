//! The transaction assembler: record metadata in log order in, committed transactions and the
//! problems found out.
//!
//! A pure type: it holds each open transaction's puts and takes until its commit or rollback
//! record, checks a commit's counts against what was read, and knows nothing of files or
//! policies. Replay (and through it `open`, `channel inspect`, `dump` and `salvage`) and
//! `channel verify` all feed it, so they agree on what a transaction is.

use std::collections::HashMap;

use super::record::{Cursor, EventPtr, RecordKind, RecordMeta};
use crate::dedup::IdSpan;

/// A transaction whose commit record was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTxn {
    /// Sequence number of the commit record: the transaction's place in the commit order.
    pub commit_seq: u64,
    /// Segment holding the transaction's records (a commit is one write, in one segment).
    pub segment: u32,
    /// Puts as (seq, pointer), in write order.
    pub puts: Vec<(u64, EventPtr)>,
    /// Takes as (seq of the put taken, pointer to it).
    pub takes: Vec<(u64, EventPtr)>,
    /// The ids its puts committed (coalesced; empty without ids).
    pub ids: Vec<IdSpan>,
    /// The cursors it set.
    pub cursors: Vec<Cursor>,
    /// A copy forward's commit (`COMMIT_FLAG_COPY`): its puts replace live events at their
    /// sequence numbers.
    pub copy: bool,
}

/// A commit whose counts differ from the records of its transaction that were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountMismatch {
    /// Offset of the commit record.
    pub offset: u64,
    /// The transaction.
    pub txid: u64,
    /// Puts the commit counts.
    pub want_puts: u32,
    /// Takes the commit counts.
    pub want_takes: u32,
    /// Puts read.
    pub got_puts: u64,
    /// Takes read.
    pub got_takes: u64,
}

impl CountMismatch {
    /// Committed events known lost: puts the commit counts that were not readable.
    pub fn events_lost(&self) -> u64 {
        u64::from(self.want_puts).saturating_sub(self.got_puts)
    }
}

impl std::fmt::Display for CountMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "commit of transaction {} counts {} puts and {} takes, {} and {} were readable",
            self.txid, self.want_puts, self.want_takes, self.got_puts, self.got_takes
        )
    }
}

/// What feeding one record produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    /// The record joined an open transaction (or ended one by rolling it back).
    Pending,
    /// The record committed a transaction; `mismatch` when its counts differ from what was
    /// read of it.
    Committed {
        /// The transaction.
        txn: CommittedTxn,
        /// Its counts against the records read.
        mismatch: Option<CountMismatch>,
    },
}

/// A record the assembler cannot place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    /// A record's offset does not fit an event pointer (offsets are 32-bit, segments are at
    /// most `MAX_FILE_SIZE_LIMIT` long).
    #[error("record at offset {offset} of segment {segment} lies beyond the 4 GiB an event pointer can address")]
    OffsetTooLarge {
        /// The segment.
        segment: u32,
        /// The offset.
        offset: u64,
    },
}

#[derive(Debug, Default)]
struct Open {
    puts: Vec<(u64, EventPtr)>,
    takes: Vec<(u64, EventPtr)>,
}

/// Transactions still open at the end of the log: their ends were never written (or lie in
/// damage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unfinished {
    /// Transactions without a commit or rollback record.
    pub txns: u64,
    /// Their puts.
    pub puts: u64,
}

/// Assembles the records of one log (one data directory, fed in segment and offset order).
#[derive(Debug, Default)]
pub struct Assembler {
    open: HashMap<u64, Open>,
    max_seq: u64,
    max_txid: u64,
    /// (segment, offset) of the last record fed: records must come in log order.
    last: Option<(u32, u64)>,
}

impl Assembler {
    /// Feeds the record at `offset` of `segment`.
    pub fn feed(
        &mut self,
        segment: u32,
        offset: u64,
        meta: &RecordMeta,
    ) -> Result<Fed, AssembleError> {
        assert!(
            self.last.is_none_or(|last| last < (segment, offset)),
            "records fed out of log order: ({segment}, {offset}) after {:?}",
            self.last
        );
        self.last = Some((segment, offset));
        let ptr = EventPtr {
            segment,
            offset: u32::try_from(offset)
                .map_err(|_| AssembleError::OffsetTooLarge { segment, offset })?,
        };
        self.max_seq = self.max_seq.max(meta.seq);
        self.max_txid = self.max_txid.max(meta.txid);
        match meta.kind {
            RecordKind::Put => self.open_txn(meta.txid).puts.push((meta.seq, ptr)),
            RecordKind::Take => {
                // A take record always carries the put it takes; the codec guarantees it.
                debug_assert!(meta.take.is_some(), "take record without its target");
                if let Some(taken) = meta.take {
                    self.open_txn(meta.txid).takes.push(taken);
                }
            }
            RecordKind::Rollback => {
                self.open.remove(&meta.txid);
            }
            RecordKind::Commit => return Ok(self.commit(segment, offset, meta)),
        }
        Ok(Fed::Pending)
    }

    fn open_txn(&mut self, txid: u64) -> &mut Open {
        self.open.entry(txid).or_default()
    }

    fn commit(&mut self, segment: u32, offset: u64, meta: &RecordMeta) -> Fed {
        debug_assert!(meta.commit.is_some(), "commit record without counts");
        let txn = self.open.remove(&meta.txid).unwrap_or_default();
        let (want_puts, want_takes) = meta.commit.unwrap_or((0, 0));
        let (got_puts, got_takes) = (txn.puts.len() as u64, txn.takes.len() as u64);
        let mismatch = (u64::from(want_puts) != got_puts || u64::from(want_takes) != got_takes)
            .then_some(CountMismatch {
                offset,
                txid: meta.txid,
                want_puts,
                want_takes,
                got_puts,
                got_takes,
            });
        let txn = CommittedTxn {
            commit_seq: meta.seq,
            segment,
            puts: txn.puts,
            takes: txn.takes,
            ids: meta.ids.clone(),
            cursors: meta.cursors.clone(),
            copy: meta.copy,
        };
        Fed::Committed { txn, mismatch }
    }

    /// Highest record sequence number fed (0 if none).
    pub fn max_seq(&self) -> u64 {
        self.max_seq
    }

    /// Highest transaction id fed (0 if none).
    pub fn max_txid(&self) -> u64 {
        self.max_txid
    }

    /// The transactions left open: call at the end of the log.
    pub fn unfinished(&self) -> Unfinished {
        Unfinished {
            txns: self.open.len() as u64,
            puts: self.open.values().map(|t| t.puts.len() as u64).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: RecordKind, txid: u64, seq: u64) -> RecordMeta {
        RecordMeta {
            kind,
            txid,
            seq,
            take: None,
            commit: None,
            ids: Vec::new(),
            cursors: Vec::new(),
            copy: false,
        }
    }

    fn put(txid: u64, seq: u64) -> RecordMeta {
        meta(RecordKind::Put, txid, seq)
    }

    fn commit(txid: u64, seq: u64, puts: u32, takes: u32) -> RecordMeta {
        RecordMeta {
            commit: Some((puts, takes)),
            ..meta(RecordKind::Commit, txid, seq)
        }
    }

    #[test]
    fn a_commit_yields_its_transaction_with_every_put_and_take_in_write_order() {
        let mut a = Assembler::default();
        assert_eq!(a.feed(3, 32, &put(7, 10)).unwrap(), Fed::Pending);
        assert_eq!(a.feed(3, 64, &put(7, 11)).unwrap(), Fed::Pending);
        let taken = EventPtr {
            segment: 1,
            offset: 40,
        };
        let take = RecordMeta {
            take: Some((4, taken)),
            ..meta(RecordKind::Take, 7, 12)
        };
        assert_eq!(a.feed(3, 96, &take).unwrap(), Fed::Pending);
        let Fed::Committed { txn, mismatch } = a.feed(3, 128, &commit(7, 13, 2, 1)).unwrap() else {
            panic!("the commit record must commit");
        };
        assert_eq!(mismatch, None);
        assert_eq!(txn.commit_seq, 13);
        assert_eq!(txn.segment, 3);
        let at = |offset| EventPtr { segment: 3, offset };
        assert_eq!(txn.puts, vec![(10, at(32)), (11, at(64))]);
        assert_eq!(txn.takes, vec![(4, taken)]);
        assert_eq!((a.max_seq(), a.max_txid()), (13, 7));
        assert_eq!(a.unfinished(), Unfinished::default());
    }

    #[test]
    fn a_commit_counting_more_than_was_read_reports_the_events_lost() {
        let mut a = Assembler::default();
        a.feed(1, 32, &put(2, 1)).unwrap();
        let Fed::Committed { mismatch, .. } = a.feed(1, 64, &commit(2, 4, 3, 0)).unwrap() else {
            panic!("the commit record must commit");
        };
        let m = mismatch.expect("a short transaction is a mismatch");
        assert_eq!(m.events_lost(), 2);
        assert_eq!(
            m.to_string(),
            "commit of transaction 2 counts 3 puts and 0 takes, 1 and 0 were readable"
        );
    }

    #[test]
    fn a_rolled_back_transaction_is_dropped_and_an_unended_one_is_unfinished() {
        let mut a = Assembler::default();
        a.feed(1, 32, &put(1, 1)).unwrap();
        a.feed(1, 64, &meta(RecordKind::Rollback, 1, 2)).unwrap();
        a.feed(1, 96, &put(2, 3)).unwrap();
        a.feed(1, 128, &put(2, 4)).unwrap();
        assert_eq!(a.unfinished(), Unfinished { txns: 1, puts: 2 });
    }

    #[test]
    fn a_record_beyond_what_a_pointer_addresses_is_a_typed_error() {
        let mut a = Assembler::default();
        let offset = u64::from(u32::MAX) + 1;
        assert_eq!(
            a.feed(9, offset, &put(1, 1)),
            Err(AssembleError::OffsetTooLarge { segment: 9, offset })
        );
    }

    #[test]
    #[should_panic(expected = "out of log order")]
    fn records_fed_out_of_log_order_are_a_bug() {
        let mut a = Assembler::default();
        a.feed(2, 32, &put(1, 1)).unwrap();
        let _ = a.feed(1, 32, &put(1, 2));
    }
}
