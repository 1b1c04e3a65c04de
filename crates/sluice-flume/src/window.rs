//! A read-ahead window over one Flume log file. Replay reads a file front to back and an
//! adoption reads the queued puts mostly in file order, a record of a few hundred bytes at a
//! time: one positional read of [`WINDOW_BYTES`] serves thousands of them (a read per record
//! cost an adoption of 1,000,000 events four million system calls).

use std::io;

use super::limits::RECORD_PAYLOAD_BYTES_MAX;
use crate::invariant::hot_assert;
use sluice_core::io::FsFile;

/// Bytes read ahead at once.
pub const WINDOW_BYTES: usize = 1 << 20;

/// The bytes of a file last read ahead, and where they start.
#[derive(Debug, Default)]
pub struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    /// `n` bytes at `at` of `file` (`len` bytes long); `None` when the file ends first.
    pub fn read(
        &mut self,
        file: &dyn FsFile,
        len: u64,
        at: u64,
        n: u64,
    ) -> io::Result<Option<Vec<u8>>> {
        let Some(end) = at.checked_add(n).filter(|e| *e <= len) else {
            return Ok(None);
        };
        if n > RECORD_PAYLOAD_BYTES_MAX {
            // Callers check lengths first: this is the last line, never an allocation of what
            // a file claims.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a read of {n} bytes, more than the {RECORD_PAYLOAD_BYTES_MAX} allowed"),
            ));
        }
        let held_end = self.start + self.bytes.len() as u64;
        if at >= self.start && end <= held_end {
            let from = (at - self.start) as usize;
            hot_assert!(
                from + n as usize <= self.bytes.len(),
                "a read served from the window lies within it"
            );
            return Ok(Some(self.bytes[from..from + n as usize].to_vec()));
        }
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        if want >= WINDOW_BYTES {
            let mut buf = vec![0u8; want];
            file.read_exact_at(&mut buf, at)?;
            return Ok(Some(buf));
        }
        let fill = usize::try_from((len - at).min(WINDOW_BYTES as u64)).unwrap_or(WINDOW_BYTES);
        self.bytes.resize(fill, 0);
        file.read_exact_at(&mut self.bytes, at)?;
        self.start = at;
        hot_assert!(
            want <= self.bytes.len(),
            "a read within the file fits the window"
        );
        Ok(Some(self.bytes[..want].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A "sparse" file of 1 TiB of zeros that remembers the largest read asked of it.
    #[derive(Debug, Default)]
    struct Sparse {
        largest: AtomicUsize,
    }

    impl FsFile for Sparse {
        fn read_at(&self, buf: &mut [u8], _offset: u64) -> io::Result<usize> {
            self.largest.fetch_max(buf.len(), Ordering::Relaxed);
            buf.fill(0);
            Ok(buf.len())
        }
        fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
            Err(io::Error::other("read-only"))
        }
        fn sync_data(&self) -> io::Result<()> {
            Ok(())
        }
        fn len(&self) -> io::Result<u64> {
            Ok(1 << 40)
        }
        fn set_len(&self, _: u64) -> io::Result<()> {
            Err(io::Error::other("read-only"))
        }
        fn is_unlinked(&self) -> io::Result<bool> {
            Ok(false)
        }
    }

    #[test]
    fn a_read_past_the_record_maximum_is_refused_before_anything_is_asked_of_the_file() {
        let file = Sparse::default();
        let mut w = Window::default();
        let err = w.read(&file, 1 << 40, 5, 1 << 30).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(file.largest.load(Ordering::Relaxed), 0, "nothing read");
        let got = w.read(&file, 1 << 40, 5, 100).unwrap().unwrap();
        assert_eq!(got.len(), 100);
        assert_eq!(file.largest.load(Ordering::Relaxed), WINDOW_BYTES);
    }
}
