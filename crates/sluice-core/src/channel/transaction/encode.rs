//! One transaction's records as one contiguous append: puts, takes, then the commit record
//! that counts them. The commit path and the copy forward both append through it.
//!
//! The records are encoded where the writer asks ([`Records`]): straight into a direct-I/O
//! segment's aligned tail, under the writer's lock and salted for that segment; or, for a
//! buffered segment, ahead into a pooled `Vec` (salted with [`Inner::salt_hint`], re-salted
//! by the writer in the rare case a roll came between) that one `pwrite` writes.
//!
//! [`Inner::salt_hint`]: super::super::inner::Inner

use super::buffers;
use crate::event::Event;
use crate::invariant::hot_assert;
use crate::wal::record::{
    commit_record_len, encode_commit_flagged, encode_put, encode_take, put_record_len,
    CommitExtras, Framing, RecordBuf, COMMIT_FLAG_COPY, SEALED_FRAME_EXTRA, TAKE_RECORD_BYTES,
};
use crate::wal::seal::SegmentKey;
use crate::wal::writer::{copy_salted, Appended, Records};
use crate::wal::EventPtr;

/// The sequence numbers of a transaction's put records.
#[derive(Clone, Copy, Debug)]
pub(in crate::channel) enum PutSeqs<'e> {
    /// Consecutive from this one (a commit).
    From(u64),
    /// Each its own, kept from the first put (a copy forward: `(seq, old pointer)`).
    Listed(&'e [(u64, EventPtr)]),
}

/// A transaction's records, not yet encoded.
#[derive(Debug)]
pub(in crate::channel) struct TxnRecords<'e> {
    salt_hint: u32,
    txid: u64,
    puts: &'e [Event],
    put_seqs: PutSeqs<'e>,
    /// `(seq of the put taken, pointer to it)`, recorded from `take_base` on.
    takes: &'e [(u64, EventPtr)],
    take_base: u64,
    commit_seq: u64,
    /// The ids the puts commit and the cursors it sets, for the commit record.
    extras: CommitExtras<'e>,
    /// Bytes of the plain records.
    len: usize,
    /// Bytes each record grows by when sealed (0: the channel writes plain segments).
    seal_extra: usize,
    /// Offset of each put record within the records, in put order (set by the encoding).
    pub put_offsets: Vec<u64>,
    /// The records encoded ahead, and the salt they now carry.
    ahead: Option<(Vec<u8>, u32)>,
}

impl<'e> TxnRecords<'e> {
    /// Transaction `txid`: `puts` (numbered by `put_seqs`), then `takes` numbered from
    /// `take_base`, then the commit record at `commit_seq` carrying `extras`. `put_bytes` is the
    /// puts' record bytes when the caller summed them already (`None`: summed here).
    pub fn new(
        salt_hint: u32,
        txid: u64,
        (puts, put_seqs, put_bytes): (&'e [Event], PutSeqs<'e>, Option<usize>),
        (takes, take_base): (&'e [(u64, EventPtr)], u64),
        (commit_seq, extras): (u64, CommitExtras<'e>),
    ) -> Self {
        let (np, nt) = (puts.len(), takes.len());
        if u32::try_from(np).is_err() || u32::try_from(nt).is_err() {
            panic!("a transaction of {np} puts and {nt} takes exceeds transactionCapacity");
        }
        if let PutSeqs::Listed(seqs) = put_seqs {
            assert_eq!(seqs.len(), np, "a put without its sequence number");
        }
        let put_bytes = put_bytes.unwrap_or_else(|| puts.iter().map(put_record_len).sum());
        TxnRecords {
            salt_hint,
            txid,
            puts,
            put_seqs,
            takes,
            take_base,
            commit_seq,
            extras,
            len: put_bytes + nt * TAKE_RECORD_BYTES + commit_record_len(&extras),
            seal_extra: 0,
            put_offsets: Vec::with_capacity(np),
            ahead: None,
        }
    }

    /// Counts the records as sealed (each [`SEALED_FRAME_EXTRA`] bytes longer) when `sealed`:
    /// the channel writes sealed segments, which the writer seals them for.
    pub fn sealed(mut self, sealed: bool) -> Self {
        self.seal_extra = if sealed { SEALED_FRAME_EXTRA } else { 0 };
        self
    }

    fn put_seq(&self, i: usize) -> u64 {
        match self.put_seqs {
            PutSeqs::From(base) => base + i as u64,
            PutSeqs::Listed(seqs) => seqs[i].0,
        }
    }

    /// How the records are encoded: salted with `salt`, or laid out for sealing.
    fn framing(&self, salt: u32) -> Framing {
        Framing {
            salt,
            sealed: self.seal_extra > 0,
        }
    }

    /// Encodes every record at the end of `out`, salted with `salt` (or laid out for
    /// sealing, on a channel that seals).
    fn encode(&mut self, out: &mut dyn RecordBuf, salt: u32) {
        let base = out.end();
        let total = Records::len(self) as usize;
        out.reserve(total);
        self.put_offsets.clear();
        let salt = self.framing(salt);
        for (i, ev) in self.puts.iter().enumerate() {
            let seq = self.put_seq(i);
            debug_assert!(seq < self.commit_seq, "a put after its commit");
            self.put_offsets.push((out.end() - base) as u64);
            encode_put(out, salt, self.txid, seq, ev);
        }
        for (j, (put_seq, ptr)) in self.takes.iter().enumerate() {
            let seq = self.take_base + j as u64;
            debug_assert!(
                seq < self.commit_seq && *put_seq < seq,
                "a take out of order"
            );
            encode_take(out, salt, self.txid, seq, *put_seq, *ptr);
        }
        let (np, nt) = (self.puts.len() as u32, self.takes.len() as u32);
        // A copy forward's puts keep live events' seqs: its commit says so (replay's check).
        let flags = match self.put_seqs {
            PutSeqs::From(_) => 0,
            PutSeqs::Listed(_) => COMMIT_FLAG_COPY,
        };
        encode_commit_flagged(
            out,
            (salt, flags),
            self.txid,
            self.commit_seq,
            (np, nt),
            &self.extras,
        );
        hot_assert!(
            out.end() - base == total,
            "a transaction encoded to another length than it counted"
        );
    }

    /// Where each put landed once the records were appended at `appended`.
    pub fn put_pointers<'a>(
        &'a self,
        appended: &'a Appended,
    ) -> impl Iterator<Item = EventPtr> + 'a {
        self.put_offsets.iter().map(move |rel| {
            // The writer refuses an append ending beyond u32::MAX (WalError::TooLarge).
            let Ok(offset) = u32::try_from(appended.offset + rel) else {
                panic!("put at {} + {rel} beyond a 32-bit pointer", appended.offset);
            };
            EventPtr {
                segment: appended.segment_id,
                offset,
            }
        })
    }
}

impl Records for TxnRecords<'_> {
    fn len(&self) -> u64 {
        let records = self.puts.len() + self.takes.len() + 1;
        (self.len + records * self.seal_extra) as u64
    }

    fn encoded(&mut self) -> (&mut [u8], &mut u32) {
        let ahead = match self.ahead.take() {
            Some(ahead) => ahead,
            None => {
                let mut bytes = buffers::take(Records::len(self) as usize);
                self.encode(&mut bytes, self.salt_hint);
                (bytes, self.salt_hint)
            }
        };
        let (bytes, salt) = self.ahead.insert(ahead);
        (bytes.as_mut_slice(), salt)
    }

    fn encode_into(&mut self, out: &mut dyn RecordBuf, salt: u32) {
        assert!(
            self.seal_extra == 0,
            "records laid out for sealing appended plain"
        );
        match self.ahead.as_mut() {
            Some((bytes, from)) => copy_salted(bytes, from, out, salt),
            None => self.encode(out, salt),
        }
    }

    fn seal_into(&mut self, out: &mut dyn RecordBuf, key: &SegmentKey, offset: u64) {
        assert!(
            self.seal_extra > 0,
            "plain records appended to a sealed segment"
        );
        let start = out.end();
        match self.ahead.as_ref() {
            Some((bytes, _)) => out.put(bytes),
            None => self.encode(out, key.segment()),
        }
        let end = out.end();
        key.seal_in_place(&mut out.held_mut()[start..end], offset);
    }
}

impl Drop for TxnRecords<'_> {
    fn drop(&mut self) {
        if let Some((bytes, _)) = self.ahead.take() {
            buffers::give_back(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::first_frame_salted_with;

    fn txn<'e>(puts: &'e [Event], takes: &'e [(u64, EventPtr)]) -> TxnRecords<'e> {
        TxnRecords::new(
            3,
            77,
            (puts, PutSeqs::From(10), None),
            (takes, 12),
            (14, CommitExtras::default()),
        )
    }

    #[test]
    fn records_encoded_ahead_and_moved_come_out_as_if_encoded_in_place() {
        let puts = [Event::new("a"), Event::new(vec![b'x'; 3000])];
        let ptr = EventPtr {
            segment: 2,
            offset: 4096,
        };
        let takes = [(5, ptr), (6, ptr)];
        // In place, salted for segment 9 (the direct path).
        let mut in_place = Vec::new();
        let mut t = txn(&puts, &takes);
        t.encode_into(&mut in_place, 9);
        assert_eq!(in_place.len() as u64, t.len());
        assert!(first_frame_salted_with(&in_place, 9));
        let offsets = t.put_offsets.clone();
        // Ahead with the hint (3), then moved into segment 9: re-salted on the way, and the
        // salt travels with the bytes so a second move does not re-salt from a stale value.
        let mut t = txn(&puts, &takes);
        let (_, salt) = t.encoded();
        assert_eq!(*salt, 3);
        let mut moved = vec![0xEE; 5];
        t.encode_into(&mut moved, 9);
        assert_eq!(&moved[5..], &in_place[..]);
        assert_eq!(*t.encoded().1, 9);
        let mut again = Vec::new();
        t.encode_into(&mut again, 9);
        assert_eq!(again, in_place);
        assert_eq!(t.put_offsets, offsets);
        assert_eq!(offsets[0], 0);
    }
}
