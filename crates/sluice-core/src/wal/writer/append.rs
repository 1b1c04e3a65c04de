//! Appending: one transaction's records placed at the active segment's end, rolling first
//! when they do not fit, encoded ahead of the lock for a buffered segment and into the tail
//! under it for a direct one ([`Records`]).

use std::io;

use super::records::{resalt_for, Records};
use super::{recycle, Active, Appended, DirWriter, WalError};
use crate::invariant::hot_assert;
use crate::wal::record::first_frame_salted_with;
use crate::wal::segment::SEGMENT_HEADER_BYTES;

impl DirWriter {
    /// Appends one transaction's records to the active segment: written at once (buffered,
    /// encoded ahead of the lock), or encoded into the direct-I/O tail for the next group
    /// write. Records encoded for another segment than the one they land in are re-salted
    /// first (a roll came between the encoding and the append). With `min_free`, refuses
    /// (without writing) when the directory would keep fewer free bytes than that. Running out
    /// of space (ENOSPC mid-write, or allocating ahead for direct I/O) fails only this append;
    /// any other write failure poisons.
    pub fn append(
        &self,
        records: &mut dyn Records,
        min_free: Option<u64>,
    ) -> Result<Appended, WalError> {
        assert!(!records.is_empty(), "an empty append");
        self.poison.check()?;
        if !self.expects_direct() {
            // Buffered: encoded before the lock (`place` copes with either kind of segment).
            records.encoded();
        }
        let mut a = self.lock_for(records.len(), min_free)?;
        self.place(&mut a, records, min_free)
    }

    /// The active segment, locked, once it has room for `len` more bytes (rolled if it had
    /// not) and the directory for `len` more above `min_free`.
    fn lock_for(
        &self,
        len: u64,
        min_free: Option<u64>,
    ) -> Result<parking_lot::MutexGuard<'_, Active>, WalError> {
        let mut a = self.active.lock();
        if self.needs_roll(&a, len) {
            // Lock order: `io` before `active`; re-check once both are held.
            drop(a);
            let _io = self.io.lock();
            a = self.active.lock();
            if self.needs_roll(&a, len) {
                self.check_space(min_free, len + SEGMENT_HEADER_BYTES)?;
                self.roll(&mut a)?;
                return Ok(a);
            }
        }
        self.check_space(min_free, len)?;
        Ok(a)
    }

    /// Whether an append of `len` bytes must start a new segment first.
    fn needs_roll(&self, a: &Active, len: u64) -> bool {
        a.file.is_none()
            || a.must_roll
            || (a.offset + len > self.max_file_bytes && a.offset > self.records_start())
    }

    /// Places the records at the active segment's end (the segment exists), salted for it.
    fn place(
        &self,
        a: &mut Active,
        records: &mut dyn Records,
        min_free: Option<u64>,
    ) -> Result<Appended, WalError> {
        let len = records.len();
        // Offsets are 32-bit in event pointers: a segment never grows past `u32::MAX`.
        if a.offset + len > u64::from(u32::MAX) {
            return Err(WalError::TooLarge(len as usize));
        }
        let offset = a.offset;
        assert!(
            offset >= SEGMENT_HEADER_BYTES,
            "append at {offset}, inside the header"
        );
        let segment_id = a.segment_id;
        let key = a.key.clone();
        // Every segment this writer starts is version 2 or 3: its salt is its id.
        let pending_write = match a.direct.as_mut() {
            Some(tail) => {
                self.buffer_direct(
                    tail,
                    (segment_id, offset, key.as_deref()),
                    records,
                    min_free,
                )?;
                true
            }
            None => {
                self.write_buffered(a, records, offset, len)?;
                false
            }
        };
        a.offset += len;
        a.written += len;
        self.space.note_written(len);
        Ok(Appended {
            segment_id,
            offset,
            end: a.written,
            pending_write,
        })
    }

    /// Writes the records at `offset` of the active buffered segment: sealed with its key, or
    /// as encoded, re-salted for it.
    fn write_buffered(
        &self,
        a: &Active,
        records: &mut dyn Records,
        offset: u64,
        len: u64,
    ) -> Result<(), WalError> {
        let segment_id = a.segment_id;
        let Some(file) = a.file.clone() else {
            let path = self.segment_path(segment_id);
            let lost = io::Error::other("no active segment after a roll");
            return Err(self.poison.refuse("append to", path, lost));
        };
        let sealed;
        let bytes: &[u8] = if let Some(key) = a.key.as_ref() {
            let mut buf = Vec::with_capacity(len as usize);
            records.seal_into(&mut buf, key, offset);
            hot_assert!(
                buf.len() as u64 == len,
                "sealed records are not the length they said"
            );
            sealed = buf;
            &sealed
        } else {
            let (bytes, salt) = records.encoded();
            resalt_for(bytes, salt, segment_id);
            hot_assert!(
                first_frame_salted_with(bytes, segment_id),
                "records appended to segment {segment_id} are not salted for it"
            );
            bytes
        };
        let written = if a.padded {
            let pad = recycle::page_pad(offset + len);
            file.write_all_at_padded(bytes, pad, offset)
        } else {
            file.write_all_at(bytes, offset)
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) => Err(self.write_failed(file.as_ref(), segment_id, offset, len, e)),
        }
    }
}
