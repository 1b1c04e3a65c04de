//! A socket read buffer that grows with the load. A connection starts with the configured
//! size (`readBufferSize`: small, so thousands of idle connections cost little); a read that
//! fills the buffer means more was waiting, so the buffer doubles, up to [`GROWN_BYTES_MAX`]
//! (or the configured size, if larger); a read that uses less than a sixteenth of a grown
//! buffer gives the memory back. Reads are what sources commit, so a busy connection's
//! commits grow with what the kernel holds for it (while one commit is being synced, the
//! next one's bytes arrive) without a timer: an idle connection still commits each read at
//! once.

/// The most a buffer grows to unless `readBufferSize` asks for more: at 1 KiB events, one
/// read then carries 256 events (the syslog TCP source carried 4.2× as much at 1 KiB with
/// reads this large as with 8 KiB ones).
pub(crate) const GROWN_BYTES_MAX: usize = 256 << 10;

/// A read buffer sized by the load (see the module docs).
#[derive(Debug)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl ReadBuf {
    /// A buffer of `start` bytes that may grow to `max(start, GROWN_BYTES_MAX)`.
    pub(crate) fn new(start: usize) -> Self {
        let start = start.max(1);
        ReadBuf {
            buf: vec![0; start],
            start,
            max: start.max(GROWN_BYTES_MAX),
        }
    }

    /// Where the next read goes.
    pub(crate) fn space(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The current size: the most the next read can bring.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Gives a grown buffer's memory back (back to `readBufferSize`): a connection about to
    /// wait for its source's byte budget keeps no grown buffer meanwhile.
    pub(crate) fn shrink(&mut self) {
        if self.buf.len() > self.start {
            self.buf = vec![0; self.start];
        }
    }

    /// Takes the `n` bytes the last read put in [`ReadBuf::space`] and sizes the buffer for
    /// the next read: `f` sees the bytes first.
    pub(crate) fn consume<R>(&mut self, n: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        let n = n.min(self.buf.len());
        let r = f(self.buf.get(..n).unwrap_or_default());
        let len = self.buf.len();
        if n == len && len < self.max {
            self.buf.resize((len * 2).min(self.max), 0);
        } else if len > self.start && n <= len / 16 {
            self.buf = vec![0; self.start];
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_on_full_reads_up_to_the_cap_and_shrinks_on_small_ones() {
        let mut b = ReadBuf::new(8 << 10);
        let mut sizes = vec![b.capacity()];
        for _ in 0..8 {
            let n = b.capacity();
            b.space()[n - 1] = 7;
            let last = b.consume(n, |bytes| bytes[n - 1]);
            assert_eq!(last, 7);
            sizes.push(b.capacity());
        }
        let kib: Vec<usize> = sizes.iter().map(|s| s >> 10).collect();
        assert_eq!(kib, [8, 16, 32, 64, 128, 256, 256, 256, 256]);
        // A read of a quarter keeps the size; one of a sixteenth gives the memory back.
        b.consume(64 << 10, |_| ());
        assert_eq!(b.capacity(), 256 << 10);
        b.consume(16 << 10, |_| ());
        assert_eq!(b.capacity(), 8 << 10);
        // Never below the start, whatever the reads.
        b.consume(0, |_| ());
        assert_eq!(b.capacity(), 8 << 10);
    }

    #[test]
    fn a_configured_size_above_the_cap_is_kept_as_it_is() {
        let mut b = ReadBuf::new(1 << 20);
        b.consume(1 << 20, |_| ());
        assert_eq!(b.capacity(), 1 << 20);
        b.consume(10, |_| ());
        assert_eq!(b.capacity(), 1 << 20);
    }
}
