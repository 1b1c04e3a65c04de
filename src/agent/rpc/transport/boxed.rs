//! [`Boxed`]: a byte stream behind a box (plain TCP, TLS, deflate or both) with a tag saying
//! what it is; reads and writes go straight through to the stream. The RPC connections'
//! [`super::Conn`] (tagged with its layers) and the otlp sink's link (tagged with its ALPN)
//! are both one, so the passing through is written once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Any byte stream a [`Boxed`] can carry.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed byte stream and what it is (`T`).
pub(crate) struct Boxed<T> {
    io: Box<dyn Io>,
    tag: T,
}

impl<T> Boxed<T> {
    /// `io` boxed, tagged with `tag`.
    pub(crate) fn new(io: impl AsyncRead + AsyncWrite + Send + Unpin + 'static, tag: T) -> Self {
        Boxed {
            io: Box::new(io),
            tag,
        }
    }

    /// What the stream is.
    pub(crate) fn tag(&self) -> &T {
        &self.tag
    }

    /// The stream itself.
    pub(crate) fn io_mut(&mut self) -> Pin<&mut dyn Io> {
        Pin::new(&mut *self.io)
    }
}

impl<T: Unpin> AsyncRead for Boxed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io_mut().poll_read(cx, buf)
    }
}

impl<T: Unpin> AsyncWrite for Boxed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io_mut().poll_write_vectored(cx, bufs)
    }

    /// True for plain TCP (`writev`) and TLS (rustls); deflate takes one buffer per write.
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io_mut().poll_shutdown(cx)
    }
}
