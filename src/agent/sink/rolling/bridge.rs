//! [`Bridge`]: the one place where the engine's blocking thread waits for async work (an
//! `Async` serializer [`super::serializer::Step`], a call of the HDFS or the S3 store), on
//! the agent's runtime through its handle. The writer runs on a blocking thread
//! (`super::sink::job`), never on a runtime worker, so a wait here holds no worker.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::runtime::Handle;

/// The agent's runtime, as seen from the writer's blocking thread.
#[derive(Clone, Debug)]
pub struct Bridge {
    handle: Handle,
}

impl Bridge {
    /// The bridge to the runtime the caller runs in (a blocking thread of it included).
    pub fn current() -> io::Result<Bridge> {
        Handle::try_current()
            .map(Bridge::new)
            .map_err(io::Error::other)
    }

    /// The bridge to `handle`'s runtime.
    pub fn new(handle: Handle) -> Bridge {
        Bridge { handle }
    }

    /// The runtime's handle (to spawn on it).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `fut` on the runtime to its end, blocking this (non-runtime) thread meanwhile.
    pub fn wait<F: Future>(&self, fut: F) -> F::Output {
        self.handle.block_on(fut)
    }

    /// [`Bridge::wait`] for at most `limit`: `None` when it was not done by then (the future
    /// is dropped). The timer is made inside the runtime, so any thread may call this.
    pub fn wait_for<F: Future>(&self, limit: Duration, fut: F) -> Option<F::Output> {
        self.wait(async move { tokio::time::timeout(limit, fut).await.ok() })
    }
}
