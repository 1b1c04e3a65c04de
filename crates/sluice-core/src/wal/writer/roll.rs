//! Rolling: sealing the active segment (its pending direct bytes written, fdatasync, still
//! linked) and starting the next one, with direct I/O where the directory takes it, in a
//! recycled spare file when one is there (`recycle.rs`).

use std::io;
use std::sync::atomic::Ordering;

use super::direct::{DirectIo, DirectTail};
use std::sync::Arc;

use super::start::{check_linked, create_segment, now_ms};
use super::{Active, DirWriter, WalError};
use crate::io::FsFile;
use crate::wal::seal::{FrameCodec, SegmentKey, SEALED_RECORDS_START};
use crate::wal::segment::{channel_tag, encode_header, SegmentHeader};

impl DirWriter {
    /// Seals the active segment and starts a new one (under `io` and `active`). A failure to
    /// start the new one leaves the channel usable (the id is kept for the next try); a failed
    /// write or fsync of the old one, or finding it unlinked, poisons.
    pub(super) fn roll(&self, a: &mut Active) -> Result<(), WalError> {
        if let Some(file) = a.file.clone() {
            self.seal(a, file.as_ref())?;
        }
        let retry = a.reserved_id.is_some();
        let id = match a.reserved_id {
            Some(id) => id,
            None => self.ids.fetch_add(1, Ordering::SeqCst),
        };
        assert!(id > a.segment_id, "new segment {id} after {}", a.segment_id);
        let (head, key) = match self.segment_head(id, a.segment_id) {
            Ok(h) => h,
            Err(e) => {
                a.reserved_id = Some(id);
                a.must_roll = true;
                return Err(e);
            }
        };
        let started = match self.start_recycled(id, &head) {
            // A spare written through the page cache pads its appends (recycle.rs).
            Ok(Some(r)) => {
                let padded = r.tail.is_none();
                Ok(((r.tail, padded), r.file))
            }
            Ok(None) => create_segment(self.fs.as_ref(), &self.dir, id, a.segment_id, retry, &head)
                .and_then(|file| Ok((self.start_direct(id, &head)?, file)))
                .map(|(direct, file)| ((direct, false), file)),
            Err(e) => Err(e),
        };
        let ((direct, padded), file) = match started {
            Ok(s) => s,
            Err(e @ WalError::Roll { .. }) => {
                tracing::warn!(dir = %self.dir.display(), segment = id, error = %e, "could not start a segment; the next commit retries");
                a.reserved_id = Some(id);
                a.must_roll = true;
                return Err(e);
            }
            Err(e) => {
                if let WalError::Io { op, path, source } = &e {
                    self.poison.set(op, path.clone(), source);
                }
                return Err(e);
            }
        };
        // Every segment started here is version 2 or 3: its records' CRC salt is its id.
        let codec = match &key {
            Some(k) => FrameCodec::sealed(k.clone()),
            None => FrameCodec::plain(id),
        };
        self.table
            .insert(id, self.index, self.segment_path(id), file.clone(), codec);
        tracing::debug!(dir = %self.dir.display(), segment = id, direct = direct.is_some(), recycled_buffered = padded, "rolled to a new segment");
        // Best effort: a head record that lags only narrows what recovery can see missing.
        if let Err(e) = crate::wal::head::write(self.fs.as_ref(), &self.dir, id) {
            tracing::warn!(dir = %self.dir.display(), segment = id, error = %e, "could not update the head record");
        }
        a.file = Some(file);
        a.direct = direct;
        a.padded = padded;
        a.segment_id = id;
        self.active_salt.store(id, Ordering::Relaxed);
        a.offset = head.len() as u64;
        a.key = key;
        a.reserved_id = None;
        a.must_roll = false;
        Ok(())
    }

    /// Opens new segment `id` (whose `header` is durable) for direct I/O and allocates its
    /// first step, or `None` to write it buffered: `directIo = false`, or `auto` on a file
    /// system that refuses either (remembered, and said once).
    fn start_direct(&self, id: u32, header: &[u8]) -> Result<Option<DirectTail>, WalError> {
        if !self.writes_direct() {
            return Ok(None);
        }
        let path = self.segment_path(id);
        let first = DirectTail::allocation_for(header.len() as u64 + 1, self.max_file_bytes);
        let opened = self
            .fs
            .open_direct(&path)
            .and_then(|f| f.allocate(first).map(|()| f));
        match opened {
            Ok(file) => {
                let buf = self.fresh_buffer(0);
                Ok(Some(DirectTail::new(file, buf, header, first)))
            }
            Err(e)
                if e.kind() == io::ErrorKind::Unsupported && self.direct_mode == DirectIo::Auto =>
            {
                self.direct_refused.store(true, Ordering::Relaxed);
                tracing::info!(dir = %self.dir.display(), error = %e, "direct I/O is not available here; writing segments through the page cache");
                Ok(None)
            }
            // No room to allocate ahead (a full disk): this segment is written buffered, so
            // that takes can still record themselves in the last free bytes.
            Err(e) if self.direct_mode == DirectIo::Auto => {
                tracing::debug!(dir = %self.dir.display(), segment = id, error = %e, "could not allocate ahead; writing this segment through the page cache");
                Ok(None)
            }
            Err(e) => Err(WalError::Roll {
                op: "open with O_DIRECT and allocate",
                path,
                source: e,
            }),
        }
    }

    /// The first bytes of new segment `id` (after `prev_in_dir`): its header, and with
    /// encryption on the seal block holding its fresh data key wrapped by the active key (the
    /// key returned). A failure (the random source) is a failed roll, retried.
    fn segment_head(
        &self,
        id: u32,
        prev_in_dir: u32,
    ) -> Result<(Vec<u8>, Option<Arc<SegmentKey>>), WalError> {
        let Some(keyring) = self.keyring.as_ref() else {
            let tag = channel_tag(&self.channel);
            let header = encode_header(&SegmentHeader::named(id, prev_in_dir, tag));
            return Ok((header.to_vec(), None));
        };
        let header = encode_header(&SegmentHeader::sealed(id, now_ms(), prev_in_dir));
        let (block, key) =
            keyring
                .seal_segment(&header, self.channel)
                .map_err(|e| WalError::Roll {
                    op: "seal",
                    path: self.segment_path(id),
                    source: io::Error::other(e),
                })?;
        let mut head = header.to_vec();
        head.extend_from_slice(&block.encode());
        debug_assert_eq!(head.len() as u64, SEALED_RECORDS_START);
        Ok((head, Some(Arc::new(key))))
    }

    /// Makes the active segment `file` durable before the roll leaves it (its pending direct
    /// bytes written first), and checks that it still has a name; any failure poisons.
    fn seal(&self, a: &mut Active, file: &dyn FsFile) -> Result<(), WalError> {
        let id = a.segment_id;
        let mut cut = self.cut_pending(a);
        if let Some((c, direct)) = cut.as_mut() {
            self.write_cut(id, direct.as_ref(), c)?;
        }
        let old = self.segment_path(id);
        self.await_leaders_synced();
        if let Some(tail) = a.direct.as_ref() {
            // Records ending on a block boundary are followed by whatever the file held there
            // (a recycled file's earlier use): one zero block makes the end read as zeroes.
            let end = a.offset;
            let stale_after = tail.file.len().is_ok_and(|len| len > end);
            if end % crate::io::DIRECT_ALIGN as u64 == 0 && stale_after {
                if let Err(e) = self.zero_block_at(tail.file.as_ref(), end) {
                    self.poison.set("write", old.clone(), &e);
                    return Err(WalError::Io {
                        op: "write",
                        path: old,
                        source: e,
                    });
                }
            }
        }
        if let Err(e) = file.sync_data() {
            self.poison.set("fsync", old.clone(), &e);
            return Err(WalError::Io {
                op: "fsync",
                path: old,
                source: e,
            });
        }
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = check_linked(file) {
            return Err(self.poison.refuse("stat", old, e));
        }
        if let Some((c, _)) = cut {
            self.recycle_cut(c);
        }
        a.direct = None;
        a.padded = false;
        self.publish_sealed(a.written)?;
        self.acked_sealed(id, a.offset);
        Ok(())
    }
}
