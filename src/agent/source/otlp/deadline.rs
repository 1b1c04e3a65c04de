//! A request body that fails once its deadline passed: a gRPC peer that sends a request's
//! first bytes and then stalls costs its stream until `requestTimeout`, not forever (the HTTP
//! side bounds its reads with the same time). A watched body also raises a flag when it fails
//! (the peer reset the stream, or the deadline passed): the call counts as abandoned
//! (abandon.rs).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a body gives at its deadline.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within requestTimeout")]
pub struct BodyTimedOut;

/// `B`, failing with [`BodyTimedOut`] at its deadline.
pub struct DeadlineBody<B> {
    inner: Pin<Box<B>>,
    sleep: Pin<Box<Sleep>>,
    failed: Option<Arc<AtomicBool>>,
}

impl<B> DeadlineBody<B> {
    /// `inner`, due by `deadline`.
    pub fn new(inner: B, deadline: Instant) -> Self {
        DeadlineBody {
            inner: Box::pin(inner),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            failed: None,
        }
    }

    /// The same, setting `failed` when the body fails.
    pub fn watched(mut self, failed: Arc<AtomicBool>) -> Self {
        self.failed = Some(failed);
        self
    }

    fn fail(&self) {
        if let Some(f) = &self.failed {
            f.store(true, Ordering::Relaxed);
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> Body for DeadlineBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(f) = self.inner.as_mut().poll_frame(cx) {
            if matches!(f, Some(Err(_))) {
                self.fail();
            }
            return Poll::Ready(f.map(|r| r.map_err(Into::into)));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.fail();
                Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
