//! The write side of [`Deflate`]: each write compressed (at most
//! [`WRITE_CHUNK_BYTES`](super::WRITE_CHUNK_BYTES) at once) and ended with a SYNC flush, the
//! stream finished on shutdown as Flume's client does.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use flate2::FlushCompress;
use tokio::io::AsyncWrite;

use super::{Deflate, WRITE_CHUNK_BYTES};

impl<S: AsyncWrite + Unpin> Deflate<S> {
    /// Writes out the compressed bytes waiting; `Ready(Ok)` once none wait.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.output.len() {
            let pending = self.output.get(self.out_pos..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.output.clear();
        self.out_pos = 0;
        Poll::Ready(Ok(()))
    }

    /// Compresses `data` into the output buffer, ending with `flush`.
    fn compress(&mut self, data: &[u8], flush: FlushCompress) -> io::Result<()> {
        let mut used = 0usize;
        loop {
            self.output.reserve(data.len() / 2 + 64);
            let before = self.deflate.total_in();
            let rest = data.get(used..).unwrap_or_default();
            self.deflate
                .compress_vec(rest, &mut self.output, flush)
                .map_err(io::Error::other)?;
            used += (self.deflate.total_in() - before) as usize;
            // Done when all input is in and the flush left room to spare.
            if used == data.len() && self.output.len() < self.output.capacity() {
                return Ok(());
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deflate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let take = buf.len().min(WRITE_CHUNK_BYTES);
        this.compress(buf.get(..take).unwrap_or_default(), FlushCompress::Sync)?;
        // Start sending at once; what is left goes out on the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(take))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if !this.finished {
            // End the stream as Flume's client does on close.
            this.finished = true;
            this.compress(&[], FlushCompress::Finish)?;
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
