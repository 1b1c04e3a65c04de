//! A stop signal shared by a component's tasks: set once, observed by many.

use tokio::sync::watch;

/// The sending side: [`StopHandle::stop`] tells every [`Stop`] to finish.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

/// The receiving side, cloned into each task of a component.
#[derive(Clone, Debug)]
pub struct Stop(watch::Receiver<bool>);

/// A new signal, not yet set.
pub fn channel() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), Stop(rx))
}

impl StopHandle {
    /// Sets the signal.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Stop {
    /// Whether the signal is set.
    pub(crate) fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until the signal is set (or its sender is gone). Cancel safe.
    pub(crate) async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleeps for `d` unless stopped first; returns true if stopped.
    pub(crate) async fn sleep(&mut self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = self.wait() => true,
            _ = tokio::time::sleep(d) => self.is_set(),
        }
    }
}
