//! Decoding large requests off the async workers. A request of at most
//! [`INLINE_DECODE_BYTES_MAX`] is decoded on its connection's task (a few thousand items at
//! most, well under a millisecond); a larger one on tokio's blocking pool, at most
//! [`decoders_max`] at once per source, so a peer sending costly requests takes its share of
//! the CPUs but never a worker: other connections, other sources and the metrics server keep
//! running.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::agent::stop::Stop;

/// Largest request decoded on the connection's own task.
pub(crate) const INLINE_DECODE_BYTES_MAX: usize = 8 << 10;

/// Most decodes one source runs off the workers at once: the machine's CPUs.
pub(crate) fn decoders_max() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The decoders of one source.
#[derive(Debug)]
pub(crate) struct Decoders {
    sem: Arc<Semaphore>,
}

/// What [`Decoders::run_then`] did.
#[derive(Debug)]
pub(crate) enum Then<T, U> {
    /// Decoded inline, on the connection's task: `after` did not run (it may block).
    Decoded(T),
    /// Decoded on the blocking pool, then `after` ran on the same thread.
    After(U),
}

impl Default for Decoders {
    fn default() -> Self {
        Decoders {
            sem: Arc::new(Semaphore::new(decoders_max())),
        }
    }
}

impl Decoders {
    /// Runs `f`, which decodes `bytes` bytes: inline when they are few, else on the blocking
    /// pool as one of this source's decoders. `None` when the source stops first (or the
    /// decode panicked, which is logged).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        bytes: usize,
        stop: &mut Stop,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        match self.run_then(bytes, stop, f, |t| t).await? {
            Then::Decoded(t) | Then::After(t) => Some(t),
        }
    }

    /// As [`Decoders::run`], and when the decode ran on the blocking pool, `after` runs on the
    /// same thread once this source's decoder slot is given back: a call's put (which may wait
    /// for an fdatasync) follows its decode without a hop back to the async workers and out
    /// again, and does not hold a decoder slot while it waits.
    pub(crate) async fn run_then<T: Send + 'static, U: Send + 'static>(
        &self,
        bytes: usize,
        stop: &mut Stop,
        f: impl FnOnce() -> T + Send + 'static,
        after: impl FnOnce(T) -> U + Send + 'static,
    ) -> Option<Then<T, U>> {
        if bytes <= INLINE_DECODE_BYTES_MAX {
            return Some(Then::Decoded(f()));
        }
        let decoder = tokio::select! {
            _ = stop.wait() => return None,
            p = self.sem.clone().acquire_owned() => p.ok()?,
        };
        let work = move || {
            let t = f();
            drop(decoder);
            after(t)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(u) => Some(Then::After(u)),
            Err(e) => {
                tracing::error!(error = %e, "decode task failed");
                None
            }
        }
    }
}
