//! The read side of [`Deflate`]: compressed bytes from the peer inflated straight into the
//! caller's buffer, under the connection's inflation cap when it has one, telling a stream
//! cut mid-way from one that ended on a flushed write.

use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll};

use flate2::{FlushDecompress, Status};
use tokio::io::{AsyncRead, ReadBuf};

use super::{corrupt, Deflate, DeflateError, INFLATE_CHUNK_BYTES, SYNC_MARKER};

impl<S> Deflate<S> {
    /// How much of `out_max` this read may inflate (at least 1: one byte past the allowance
    /// proves the stream would go on).
    fn capped(&self, out_max: usize) -> usize {
        match &self.cap {
            None => out_max,
            Some(cap) => {
                let left = cap
                    .allowance(self.received)
                    .saturating_sub(self.inflate.total_out());
                out_max.min(usize::try_from(left).unwrap_or(usize::MAX).max(1))
            }
        }
    }

    /// The error once the inflated total passed the allowance (counted once).
    fn over_cap(&mut self) -> Option<io::Error> {
        let cap = self.cap.as_mut()?;
        let inflated = self.inflate.total_out();
        if inflated <= cap.allowance(self.received) {
            return None;
        }
        if !cap.tripped {
            cap.tripped = true;
            cap.refused.fetch_add(1, Ordering::Relaxed);
        }
        Some(io::Error::new(
            io::ErrorKind::InvalidData,
            DeflateError::Ratio {
                inflated,
                compressed: self.received,
                ratio_max: cap.ratio_max,
            },
        ))
    }

    /// Makes room at the end of the input buffer: empties it when all was used, moves the
    /// unused bytes to its start when it is full.
    fn make_input_room(&mut self) {
        if self.in_pos == self.in_len {
            self.in_pos = 0;
            self.in_len = 0;
        } else if self.in_len == self.input.len() {
            self.input.copy_within(self.in_pos..self.in_len, 0);
            self.in_len -= self.in_pos;
            self.in_pos = 0;
        }
    }

    fn remember_tail(&mut self, n: usize) {
        let new = self
            .input
            .get(self.in_len - n..self.in_len)
            .unwrap_or_default();
        let mut joined = self.tail.to_vec();
        joined.extend_from_slice(new.get(new.len().saturating_sub(4)..).unwrap_or_default());
        let start = joined.len() - 4;
        self.tail.copy_from_slice(&joined[start..]);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deflate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Inflate into at most this much of `buf` per call: a caller's buffer of a whole
        // frame is uninitialised, and zeroing all of it for each piece would cost more than
        // inflating.
        let out_max = buf.remaining().min(INFLATE_CHUNK_BYTES);
        loop {
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = this.over_cap() {
                return Poll::Ready(Err(e));
            }
            let out_max = this.capped(out_max);
            // Inflate what is buffered (or what the inflater still holds) into `buf`.
            let (before_in, before_out) = (this.inflate.total_in(), this.inflate.total_out());
            let input = this.input.get(this.in_pos..this.in_len).unwrap_or_default();
            let status = this
                .inflate
                .decompress(
                    input,
                    buf.initialize_unfilled_to(out_max),
                    FlushDecompress::None,
                )
                .map_err(corrupt)?;
            let used = (this.inflate.total_in() - before_in) as usize;
            let made = (this.inflate.total_out() - before_out) as usize;
            this.in_pos += used;
            if let Some(e) = this.over_cap() {
                return Poll::Ready(Err(e));
            }
            buf.advance(made);
            if status == Status::StreamEnd {
                // The peer finished its stream (it closes next); nothing follows it.
                this.read_done = true;
                return Poll::Ready(Ok(()));
            }
            if made > 0 {
                return Poll::Ready(Ok(()));
            }
            if this.in_pos < this.in_len && used > 0 {
                continue;
            }
            // Need more compressed input.
            this.make_input_room();
            let mut rb = ReadBuf::new(this.input.get_mut(this.in_len..).unwrap_or_default());
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                if this.received == 0 || (this.in_pos == this.in_len && this.tail == SYNC_MARKER) {
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    DeflateError::Cut(this.received),
                )));
            }
            this.in_len += n;
            this.received += n as u64;
            this.remember_tail(n);
        }
    }
}
