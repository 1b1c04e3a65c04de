//! A source's group of batches through the channel processor ([`ChannelProcessor::process_group`]):
//! on the calling blocking thread with the channel's own blocking put when one channel takes
//! it all, otherwise each batch in turn; either way one outcome per batch, a committed prefix
//! and then only refusals, which a source relies on to move its positions
//! (`agent::invariant`, asserted here).

// One outcome per batch, in a Vec: a refusal is the rare path, and boxing it would add an
// allocation per refused batch to save stack in a vector of at most GROUP_BATCHES_MAX.
#![allow(
    clippy::result_large_err,
    reason = "outcomes of a group, not a hot return"
)]

use std::sync::Arc;

use super::{ChannelProcessor, Rejected, RouteError};
use crate::agent::channel::AgentChannelError;
use crate::agent::invariant;
use crate::agent::tap;
use sluice_core::Event;

impl ChannelProcessor {
    /// Whether [`ChannelProcessor::process_blocking`] puts on the calling thread with the
    /// channel's own blocking put (one channel, nothing optional, a channel that
    /// [`AgentChannel::puts_blocking`]): a source that decoded a call on the blocking pool then
    /// puts it there rather than going back to its async task.
    pub fn puts_blocking(&self) -> bool {
        !self.chain.calls_java()
            && self
                .single
                .as_ref()
                .is_some_and(|(_, ch)| ch.puts_blocking())
    }

    /// [`ChannelProcessor::process`] for a caller on the runtime's blocking pool (never an
    /// async worker): with one channel and nothing optional, the batch is intercepted and put
    /// on this thread ([`AgentChannel::put_commit_blocking`]); otherwise `process` runs here.
    pub fn process_blocking(&self, events: Vec<Event>) -> Result<(), RouteError> {
        let Some((name, ch)) = self.single.as_ref().filter(|_| !self.chain.calls_java()) else {
            return tokio::runtime::Handle::current().block_on(self.process(events));
        };
        let events = self.intercept_native(events)?;
        if events.is_empty() {
            return Ok(());
        }
        tap::offer(tap::Point::Channel, name, &events);
        ch.put_commit_blocking(events)
            .map_err(|source| RouteError::Channel {
                channel: name.clone(),
                source,
            })
    }

    /// [`ChannelProcessor::process_blocking`] for several batches at once, each its own
    /// transaction, committed in order as one group where the channel shares what a commit
    /// costs ([`AgentChannel::put_commit_group_blocking`]: one fdatasync for a file channel).
    /// Only when [`ChannelProcessor::puts_blocking`]; otherwise each batch goes through
    /// `process` in turn. A prefix of the batches commits; the outcomes in order. When
    /// [`ChannelProcessor::hands_back`], every refused batch comes back in
    /// [`Rejected::events`], so the caller keeps no copy.
    pub fn process_blocking_group(&self, batches: Vec<Vec<Event>>) -> Vec<Result<(), Rejected>> {
        let Some((name, ch)) = self.single.as_ref().filter(|_| self.puts_blocking()) else {
            return tokio::runtime::Handle::current().block_on(self.process_in_order(batches));
        };
        let total = batches.len();
        let mut intercepted = Vec::with_capacity(total);
        for b in batches {
            match self.intercept_native(b) {
                Ok(b) => intercepted.push(b),
                // One outcome per batch: none of them was offered.
                Err(e) => return cut_after(Err(refusal(e)), 0, total),
            }
        }
        let batches = intercepted;
        for b in &batches {
            tap::offer(tap::Point::Channel, name, b);
        }
        // Intercepted batches are not what the source retries with: only handed back as
        // they came (no interceptors).
        let hands_back = self.hands_back();
        let out: Vec<Result<(), Rejected>> = ch
            .put_commit_group_blocking(batches)
            .into_iter()
            .map(|r| {
                r.map_err(|r| Rejected {
                    error: RouteError::Channel {
                        channel: name.clone(),
                        source: r.error,
                    },
                    events: r.events.filter(|_| hands_back),
                })
            })
            .collect();
        group_outcomes(out, total)
    }

    /// [`ChannelProcessor::process_blocking_group`] from an async task: on the blocking pool
    /// when the channel puts there ([`ChannelProcessor::puts_blocking`]), otherwise each batch
    /// through [`ChannelProcessor::offer`] in turn, stopping at the first refusal. A prefix
    /// of the batches commits; the outcomes in order, refused batches handed back as
    /// `process_blocking_group` hands them back.
    ///
    /// Cancel safety: not cancel safe (some batches may have committed).
    pub async fn process_group(
        self: &Arc<Self>,
        batches: Vec<Vec<Event>>,
    ) -> Vec<Result<(), Rejected>> {
        let total = batches.len();
        if self.puts_blocking() {
            let me = self.clone();
            let name = self
                .single
                .as_ref()
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            return match tokio::task::spawn_blocking(move || me.process_blocking_group(batches))
                .await
            {
                Ok(r) => r,
                // The batches are lost with the task (it panicked): nothing to hand back.
                Err(_) => (0..total)
                    .map(|_| {
                        Err(refusal(RouteError::Channel {
                            channel: name.clone(),
                            source: AgentChannelError::Join(name.clone()),
                        }))
                    })
                    .collect(),
            };
        }
        group_outcomes(self.process_in_order(batches).await, total)
    }

    /// Each batch through [`ChannelProcessor::offer`] in turn; after the first refusal the
    /// rest are not offered ([`AgentChannelError::GroupCut`]), and come back as they are when
    /// [`ChannelProcessor::hands_back`].
    async fn process_in_order(&self, batches: Vec<Vec<Event>>) -> Vec<Result<(), Rejected>> {
        let total = batches.len();
        let mut out: Vec<Result<(), Rejected>> = Vec::with_capacity(total);
        for b in batches {
            out.push(if out.iter().any(Result::is_err) {
                Err(Rejected {
                    error: group_cut(out.len(), total),
                    events: self.hands_back().then_some(b),
                })
            } else {
                self.offer(b).await
            });
        }
        out
    }
}

/// A refusal that hands nothing back.
fn refusal(error: RouteError) -> Rejected {
    Rejected {
        error,
        events: None,
    }
}

/// The refusal of the batch at `index` (from 0) of a group of `total` that was not offered
/// because one before it was refused.
fn group_cut(index: usize, total: usize) -> RouteError {
    RouteError::Channel {
        channel: String::new(),
        source: AgentChannelError::GroupCut {
            position: index + 1,
            total,
        },
    }
}

/// `first` as the outcome of the batch at `at`, every later batch of the `total` cut.
fn cut_after(first: Result<(), Rejected>, at: usize, total: usize) -> Vec<Result<(), Rejected>> {
    let mut out = Vec::with_capacity(total);
    out.push(first);
    out.extend((at + 1..total).map(|i| Err(refusal(group_cut(i, total)))));
    out
}

/// A group's outcomes as its callers rely on them: one per batch, a committed prefix, then
/// only refusals (a source moves its positions for the `Ok` ones; DESIGN.md, "Sinks and
/// sources").
fn group_outcomes(out: Vec<Result<(), Rejected>>, total: usize) -> Vec<Result<(), Rejected>> {
    assert_eq!(
        out.len(),
        total,
        "invariant: one outcome per batch of a group"
    );
    invariant::ok_prefix(&out, "a group of puts");
    out
}

#[cfg(test)]
mod invariant_tests {
    use super::*;

    #[test]
    fn a_refused_interception_refuses_every_batch_of_the_group() {
        let out = cut_after(Err(refusal(group_cut(0, 3))), 0, 3);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(Result::is_err));
        group_outcomes(out, 3);
    }

    #[test]
    #[should_panic(expected = "one outcome per batch")]
    fn fewer_outcomes_than_batches_fire() {
        group_outcomes(vec![Err(refusal(group_cut(0, 3)))], 3);
    }

    #[test]
    #[should_panic(expected = "succeeded after item 1 failed")]
    fn a_commit_after_a_refusal_fires() {
        group_outcomes(vec![Err(refusal(group_cut(0, 2))), Ok(())], 2);
    }
}
