//! [`Conn`]: one RPC connection after the transport's handshakes, the byte stream the
//! protocol code reads and writes (it must `flush` after each frame: TLS and deflate hold
//! bytes until flushed).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Any byte stream a [`Conn`] can carry.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One RPC connection after the transport's handshakes: plain, TLS, deflate or both.
pub(crate) struct Conn {
    io: Box<dyn Io>,
    layers: &'static str,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({})", self.layers)
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
        if !self.io.is_write_vectored() {
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

    pub(super) fn new(
        io: impl AsyncRead + AsyncWrite + Send + Unpin + 'static,
        layers: &'static str,
    ) -> Self {
        Conn {
            io: Box::new(io),
            layers,
        }
    }

    /// `plain`, `tls`, `deflate` or `tls+deflate`.
    pub(crate) fn layers(&self) -> &'static str {
        self.layers
    }

    /// Whether an idle connection is known to be broken: the peer closed it or sent bytes
    /// nobody asked for. Never blocks (one poll); `false` means "not known to be broken".
    pub(crate) fn idle_broken(&mut self) -> bool {
        let mut one = [0u8; 1];
        let mut buf = ReadBuf::new(&mut one);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(&mut *self.io)
            .poll_read(&mut cx, &mut buf)
            .is_ready()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    /// True for plain TCP (`writev`) and TLS (rustls); deflate takes one buffer per write.
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_shutdown(cx)
    }
}
