//! A group commit running behind the runner's deliveries: the takes of acknowledged batches
//! commit (the channel's fdatasync) while the runner goes on taking and delivering the next
//! batches, instead of delivering one batch per commit. One group commits at a time, always
//! the oldest acknowledged batches, so takes still commit strictly in the order taken, each
//! only after its own acknowledgements answered `Ok` (for file_roll: its fsync; for avro: the
//! downstream's `OK`, sent only once the events are durable there).
//!
//! The commit is a future the runner holds; on a file channel its work runs on the blocking
//! pool, so it goes on between polls, and [`Behind::beside`] polls it while the runner
//! delivers. Every path that ends a pipeline (a pause, a switch of sink, stop) first waits
//! for it ([`Behind::finish`]), so no take stays open past the runner's rounds.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use super::super::settle::{acked_prefix, commit_group, Delivered, Settled};

/// The commit in flight: its sink and its outcomes to come.
type Running = (String, Pin<Box<dyn Future<Output = Vec<Settled>> + Send>>);

/// At most one group commit in flight behind the deliveries.
#[derive(Default)]
pub(super) struct Behind {
    running: Option<Running>,
}

impl std::fmt::Debug for Behind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Behind")
            .field("running", &self.running.as_ref().map(|r| &r.0))
            .finish()
    }
}

impl Behind {
    /// Whether a group commit is in flight.
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The sink whose group commit is in flight, if any.
    pub(super) fn sink(&self) -> Option<String> {
        self.running.as_ref().map(|(sink, _)| sink.clone())
    }

    /// Whether a group commit of a sink other than `name` is in flight.
    pub(super) fn other_than(&self, name: &str) -> bool {
        self.running.as_ref().is_some_and(|(sink, _)| sink != name)
    }

    /// Starts committing the oldest batches of `pending` already acknowledged (nothing if the
    /// oldest has not answered). Call only with no commit in flight. If the oldest answered
    /// an error it comes back, for the runner to roll back with every batch after it.
    pub(super) async fn start_acked(
        &mut self,
        pending: &mut VecDeque<Delivered>,
    ) -> Result<(), Delivered> {
        debug_assert!(self.running.is_none(), "one group commit at a time");
        let group = acked_prefix(pending).await?;
        if let Some(sink) = group.first().map(|d| d.sink.clone()) {
            self.running = Some((sink, Box::pin(commit_group(group))));
        }
        Ok(())
    }

    /// Waits for the commit in flight, if any: its batches' outcomes, in order.
    pub(super) async fn finish(&mut self) -> Vec<Settled> {
        match self.running.take() {
            Some((_, commit)) => commit.await,
            None => Vec::new(),
        }
    }

    /// Runs `work` to its end while polling the commit in flight: `work`'s output, and the
    /// commit's outcomes if it ended meanwhile (else it stays in flight).
    pub(super) async fn beside<F: Future>(&mut self, work: F) -> (F::Output, Vec<Settled>) {
        let mut work = std::pin::pin!(work);
        let mut settled = Vec::new();
        let out = std::future::poll_fn(|cx| {
            if let Some((_, commit)) = self.running.as_mut() {
                if let Poll::Ready(s) = commit.as_mut().poll(cx) {
                    settled = s;
                    self.running = None;
                }
            }
            work.as_mut().poll(cx)
        })
        .await;
        (out, settled)
    }
}
