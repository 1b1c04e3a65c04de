//! Decoding large requests off the async workers. A request of at most
//! [`INLINE_DECODE_BYTES_MAX`] is decoded on its connection's task (a few thousand items at
//! most, well under a millisecond); a larger one on tokio's blocking pool, at most
//! [`decoders_max`] at once per source, so a peer sending costly requests takes its share of
//! the CPUs but never a worker: other connections, other sources and the metrics server keep
//! running.

use tokio::sync::Semaphore;

use crate::agent::stop::Stop;

/// Largest request decoded on the connection's own task.
pub const INLINE_DECODE_BYTES_MAX: usize = 8 << 10;

/// Most decodes one source runs off the workers at once: the machine's CPUs.
pub fn decoders_max() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The decoders of one source.
#[derive(Debug)]
pub struct Decoders {
    sem: Semaphore,
}

impl Default for Decoders {
    fn default() -> Self {
        Decoders {
            sem: Semaphore::new(decoders_max()),
        }
    }
}

impl Decoders {
    /// Runs `f`, which decodes `bytes` bytes: inline when they are few, else on the blocking
    /// pool as one of this source's decoders. `None` when the source stops first (or the
    /// decode panicked, which is logged).
    pub async fn run<T: Send + 'static>(
        &self,
        bytes: usize,
        stop: &mut Stop,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        if bytes <= INLINE_DECODE_BYTES_MAX {
            return Some(f());
        }
        let _decoder = tokio::select! {
            _ = stop.wait() => return None,
            p = self.sem.acquire() => p.ok()?,
        };
        match tokio::task::spawn_blocking(f).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "decode task failed");
                None
            }
        }
    }
}
