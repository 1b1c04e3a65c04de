//! A read-ahead window over one Flume log file. Replay reads a file front to back and an
//! adoption reads the queued puts mostly in file order, a record of a few hundred bytes at a
//! time: one positional read of [`WINDOW_BYTES`] serves thousands of them (a read per record
//! cost an adoption of 1,000,000 events four million system calls).

use std::io;

use crate::io::FsFile;

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
        let held_end = self.start + self.bytes.len() as u64;
        if at >= self.start && end <= held_end {
            let from = (at - self.start) as usize;
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
        Ok(Some(self.bytes[..want].to_vec()))
    }
}
