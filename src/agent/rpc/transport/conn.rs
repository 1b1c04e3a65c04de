//! [`Conn`]: one RPC connection after the transport's handshakes, the byte stream the
//! protocol code reads and writes (it must `flush` after each frame: TLS and deflate hold
//! bytes until flushed); a [`Boxed`] stream tagged with its layers.

use std::io;
use std::task::Context;

use tokio::io::{AsyncWrite, ReadBuf};

use super::boxed::Boxed;
use crate::wire::splice::SPLICE_BODY_MIN;

/// One RPC connection after the transport's handshakes: plain, TLS, deflate or both (the
/// tag: `plain`, `tls`, `deflate` or `tls+deflate`).
pub(crate) type Conn = Boxed<&'static str>;

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({})", self.tag())
    }
}

impl Conn {
    /// Writes every slice in order: in `writev` calls where the stream writes vectored (plain
    /// TCP's `writev`, rustls), one slice per write otherwise (deflate compresses one buffer per
    /// write anyway).
    pub(crate) async fn write_all_slices(
        &mut self,
        mut slices: &mut [io::IoSlice<'_>],
    ) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        if !self.is_write_vectored() {
            for s in slices.iter() {
                self.write_all(s).await?;
            }
            return Ok(());
        }
        io::IoSlice::advance_slices(&mut slices, 0);
        while !slices.is_empty() {
            let n = self.write_vectored(slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            io::IoSlice::advance_slices(&mut slices, n);
        }
        Ok(())
    }

    /// The smallest event body worth sending from where it lies (a slice of a vectored
    /// write) rather than copied: [`SPLICE_BODY_MIN`] where the stream writes vectored,
    /// never otherwise.
    pub(crate) fn splice_min(&self) -> usize {
        if self.is_write_vectored() {
            SPLICE_BODY_MIN
        } else {
            usize::MAX
        }
    }

    /// `plain`, `tls`, `deflate` or `tls+deflate`.
    pub(crate) fn layers(&self) -> &'static str {
        self.tag()
    }

    /// Whether an idle connection is known to be broken: the peer closed it or sent bytes
    /// nobody asked for. Never blocks (one poll); `false` means "not known to be broken".
    pub(crate) fn idle_broken(&mut self) -> bool {
        let mut one = [0u8; 1];
        let mut buf = ReadBuf::new(&mut one);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.io_mut().poll_read(&mut cx, &mut buf).is_ready()
    }
}
