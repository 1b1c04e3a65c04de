//! The direct-I/O tail of an active segment: the bytes appended since the last write, held in
//! an aligned buffer that starts at a block boundary of the file.
//!
//! An append only copies its bytes in. The group-commit leader [`DirectTail::cut`]s what is
//! pending and writes it as whole blocks with `O_DIRECT` (no page-cache copy); the partial
//! last block stays at the head of the next buffer, so the next write rewrites that block with
//! the same leading bytes plus new ones. No byte of padding is ever committed: the zeros after
//! the logical end read as the end of the segment, and a rewrite that is lost or torn by a
//! power cut leaves the block's earlier, already-durable bytes as they were (a torn write
//! keeps, sector by sector, either the old or the new content, and both begin with them).
//! The file is allocated ahead ([`FsFile::allocate`]), so a direct write never meets a full
//! disk: running out of space fails the append that needed the allocation, before any copy.

use std::sync::Arc;

use super::super::aligned::{align_up, AlignedBuf};
use crate::io::{FsFile, DIRECT_ALIGN};

/// How the channel writes its segments (`directIo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DirectIo {
    /// `O_DIRECT` where the file system takes it (the default: asked once per directory,
    /// `direct_probe`), buffered writes where it does not.
    #[default]
    Auto,
    /// Always `O_DIRECT`; starting a segment fails where the file system refuses it.
    On,
    /// Always buffered writes through the page cache.
    Off,
}

impl DirectIo {
    /// Parses `auto`, `true` or `false` (as the config key takes them).
    pub fn parse(v: &str) -> Option<DirectIo> {
        match v.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(DirectIo::Auto),
            "true" | "on" => Some(DirectIo::On),
            "false" | "off" => Some(DirectIo::Off),
            _ => None,
        }
    }

    /// The value as the config key takes it (`auto`, `true`, `false`): [`DirectIo::parse`]
    /// reads it back.
    pub fn as_key(self) -> &'static str {
        match self {
            DirectIo::Auto => "auto",
            DirectIo::On => "true",
            DirectIo::Off => "false",
        }
    }
}

/// Bytes the file is allocated ahead of the writes, at most (never past `maxFileSize`).
pub(super) const ALLOCATE_STEP: u64 = 8 << 20;

/// The pending tail of a segment written with direct I/O.
#[derive(Debug)]
pub(super) struct DirectTail {
    /// The segment opened with `O_DIRECT`.
    pub file: Arc<dyn FsFile>,
    /// The bytes of `[start, start + buf.len())`.
    pub buf: AlignedBuf,
    /// File offset of `buf`'s first byte (block-aligned).
    pub start: u64,
    /// Leading bytes of `buf` already in the file.
    pub written: usize,
    /// The file is allocated up to here.
    pub allocated: u64,
    /// The file is known written (data, zeros ahead, or an earlier use's bytes) up to here
    /// (`zero_ahead`).
    pub zeroed: u64,
}

/// Bytes cut from a tail, to be written at `start`.
#[derive(Debug)]
pub(super) struct Cut {
    pub start: u64,
    pub buf: AlignedBuf,
}

impl DirectTail {
    /// A tail whose file holds `head` (the segment header, already durable) at offset 0.
    pub fn new(file: Arc<dyn FsFile>, mut buf: AlignedBuf, head: &[u8], allocated: u64) -> Self {
        buf.clear();
        buf.extend(head);
        DirectTail {
            file,
            buf,
            start: 0,
            written: head.len(),
            allocated,
            zeroed: 0,
        }
    }

    /// Whether bytes are waiting to be written.
    pub fn pending(&self) -> bool {
        self.buf.len() > self.written
    }

    /// The allocation the file needs so that `end` fits: `end` rounded up to a step, but not
    /// past `cap` (the segment's size limit) unless `end` itself is.
    pub fn allocation_for(end: u64, cap: u64) -> u64 {
        let stepped = end.div_ceil(ALLOCATE_STEP) * ALLOCATE_STEP;
        align_up(end).max(stepped.min(align_up(cap)))
    }

    /// Takes the pending bytes out to be written, leaving their partial last block at the head
    /// of `fresh`, which becomes the tail's buffer.
    pub fn cut(&mut self, mut fresh: AlignedBuf) -> Cut {
        let len = self.buf.len();
        let keep_from = len - len % DIRECT_ALIGN;
        fresh.clear();
        fresh.extend(&self.buf.as_slice()[keep_from..]);
        let out = std::mem::replace(&mut self.buf, fresh);
        let start = self.start;
        self.start += keep_from as u64;
        // The kept bytes are in `out` too and are written with it, before any later cut.
        self.written = self.buf.len();
        Cut { start, buf: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Fs, OpenMode, SimFs};
    use std::path::Path;

    #[test]
    fn cuts_rewrite_the_partial_block_and_the_file_reads_back_every_byte() {
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/d")).unwrap();
        let path = Path::new("/d/f");
        let plain = fs.open(path, OpenMode::CreateNew).unwrap();
        plain.write_all_at(b"HEAD", 0).unwrap();
        let file = fs.open_direct(path).unwrap();
        let mut t = DirectTail::new(file, AlignedBuf::with_capacity(1), b"HEAD", 0);
        let mut expect = b"HEAD".to_vec();
        for round in 0..5u8 {
            let bytes = vec![round + 1; 3000];
            t.buf.extend(&bytes);
            expect.extend_from_slice(&bytes);
            assert!(t.pending());
            let mut cut = t.cut(AlignedBuf::with_capacity(1));
            assert_eq!(cut.start % DIRECT_ALIGN as u64, 0);
            t.file.write_all_at(cut.buf.padded(), cut.start).unwrap();
            assert!(!t.pending());
        }
        let mut back = vec![0u8; expect.len()];
        plain.read_exact_at(&mut back, 0).unwrap();
        assert_eq!(back, expect);
        // Past the logical end the last block is zeros.
        let len = plain.len().unwrap();
        assert_eq!(len % DIRECT_ALIGN as u64, 0);
        let mut rest = vec![1u8; (len - expect.len() as u64) as usize];
        plain.read_exact_at(&mut rest, expect.len() as u64).unwrap();
        assert!(rest.iter().all(|&b| b == 0));
    }

    #[test]
    fn unaligned_direct_io_is_refused_as_linux_refuses_it() {
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/d")).unwrap();
        fs.open(Path::new("/d/f"), OpenMode::CreateNew).unwrap();
        let f = fs.open_direct(Path::new("/d/f")).unwrap();
        let err = f.write_all_at(b"abc", 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        fs.refuse_direct(true);
        let err = fs.open_direct(Path::new("/d/f")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    }

    #[test]
    fn every_mode_reads_back_from_its_key() {
        for d in [DirectIo::Auto, DirectIo::On, DirectIo::Off] {
            assert_eq!(DirectIo::parse(d.as_key()), Some(d));
        }
    }

    #[test]
    fn allocation_steps_ahead_but_not_past_the_segment_limit() {
        assert_eq!(DirectTail::allocation_for(100, 1 << 30), ALLOCATE_STEP);
        assert_eq!(DirectTail::allocation_for(100, 10_000), 12_288);
        assert_eq!(DirectTail::allocation_for(20_000, 10_000), 20_480);
    }
}
