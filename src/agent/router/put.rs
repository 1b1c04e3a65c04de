//! The router's one put contract, as a source sees it:
//!
//! - [`ChannelProcessor::put_group`] (and [`ChannelProcessor::put`], a group of one), async:
//!   each batch its own transaction, committed in order; a prefix commits and every refused
//!   batch comes back to its caller as it came ([`Rejected`], as tokio's `SendError<T>(pub T)`
//!   gives the value back). With one channel and no interceptors the channel itself hands the
//!   batch back ([`crate::agent::channel::Refused`]); with interceptors or several channels the
//!   router keeps the copy the source used to keep. Nothing else is copied.
//! - [`ChannelProcessor::process`], async, for a caller that answers its client and never
//!   retries (RPC, HTTP): nothing is kept, the error comes back.
//! - [`ChannelProcessor::blocking`]: the router's put on the caller's blocking thread, handed
//!   out once when the router is built with one channel that has a blocking put of its own
//!   (the file channel) and no async interceptor; `None` otherwise. A source that decodes or
//!   reads on the blocking pool (avro/thrift calls, TAILDIR reads) keeps it and puts there.
//!
//! Which thread fsyncs: the file channel's, always on the blocking pool: the caller's own
//! blocking thread through [`BlockingRouter`], a `spawn_blocking` of the channel's group put
//! otherwise. No put crosses from a blocking thread back into async code.

// One outcome per batch, in a Vec: a refusal is the rare path, and boxing it would add an
// allocation per refused batch to save stack in a vector of at most GROUP_BATCHES_MAX.
#![allow(
    clippy::result_large_err,
    reason = "outcomes of a group, not a hot return"
)]

use std::sync::Arc;

use super::{ChannelProcessor, RouteError};
use crate::agent::channel::{AgentChannelError, BlockingPut, GroupOutcome, Refused};
use crate::agent::invariant;
use crate::agent::tap;
use sluice_core::Event;

/// A batch the router did not put, handed back as the source gave it (before the
/// interceptors). The events are empty only when they were lost with a blocking task that
/// panicked ([`Rejected::lost`]).
#[derive(Debug)]
pub struct Rejected {
    /// Why.
    pub error: RouteError,
    /// The batch, unchanged.
    pub events: Vec<Event>,
}

impl Rejected {
    /// Whether the batch was lost with a blocking task that panicked: there is nothing to
    /// retry with.
    pub fn lost(&self) -> bool {
        self.events.is_empty()
            && matches!(self.error.channel_error(), Some(AgentChannelError::Join(_)))
    }
}

/// The outcomes of a group put: one per batch, a committed prefix, then refusals.
pub type Outcomes = Vec<Result<(), Rejected>>;

/// The router's put on the caller's blocking thread ([`ChannelProcessor::blocking`]): the
/// interceptors and the channel's own blocking put run right there.
#[derive(Debug, Clone)]
pub struct BlockingRouter {
    router: Arc<ChannelProcessor>,
    put: Arc<dyn BlockingPut>,
}

impl ChannelProcessor {
    /// The router's blocking put, when it was built with one ([`BlockingRouter`]); a source
    /// asks once, when it starts.
    pub fn blocking(self: &Arc<Self>) -> Option<BlockingRouter> {
        let put = self.blocking.clone()?;
        Some(BlockingRouter {
            router: self.clone(),
            put,
        })
    }

    /// Puts one batch in one transaction per channel ([`ChannelProcessor::put_group`] of
    /// one); a refused batch comes back.
    ///
    /// Cancel safety: not cancel safe; a cancelled call may have committed to some channels.
    pub async fn put(&self, events: Vec<Event>) -> Result<(), Rejected> {
        self.put_group(vec![events])
            .await
            .into_iter()
            .next()
            .unwrap_or(Ok(()))
    }

    /// Puts `batches`, each its own transaction, committed in order as one group where the
    /// channel shares what a commit costs (one fdatasync for a file channel). A prefix
    /// commits; every other batch comes back as it came, the first with why, the rest cut.
    ///
    /// Cancel safety: not cancel safe (some batches may have committed).
    pub async fn put_group(&self, batches: Vec<Vec<Event>>) -> Outcomes {
        let total = batches.len();
        let out = match &self.single {
            Some((name, ch)) => {
                let kept = (!self.intake.passes_through()).then(|| batches.clone());
                let mut intercepted = Vec::with_capacity(total);
                for b in batches {
                    match self.intake.intercept(b).await {
                        Ok(b) => intercepted.push(b),
                        Err(e) => return refuse_all(e, kept.unwrap_or_default(), total),
                    }
                }
                for b in &intercepted {
                    tap::offer(tap::Point::Channel, name, b);
                }
                back(name, ch.put_group(intercepted).await, kept)
            }
            None => self.put_each(batches).await,
        };
        group_outcomes(out, total)
    }

    /// Each batch through [`ChannelProcessor::process`] in turn, a copy kept for the refused
    /// one; after the first refusal the rest are not offered
    /// ([`AgentChannelError::GroupCut`]).
    async fn put_each(&self, batches: Vec<Vec<Event>>) -> Outcomes {
        let total = batches.len();
        let mut out: Outcomes = Vec::with_capacity(total);
        for b in batches {
            out.push(if out.iter().any(Result::is_err) {
                Err(Rejected {
                    error: group_cut(out.len(), total),
                    events: b,
                })
            } else {
                let copy = b.clone();
                self.process(b).await.map_err(|error| Rejected {
                    error,
                    events: copy,
                })
            });
        }
        out
    }
}

impl BlockingRouter {
    /// The name of the router's one channel (a router with a blocking put has one).
    fn channel_name(&self) -> &str {
        let single = self.router.single.as_ref();
        single.map(|(n, _)| n.as_str()).unwrap_or_default()
    }

    /// [`ChannelProcessor::put_group`] on this thread (the runtime's blocking pool, never an
    /// async worker): intercepted here, then put and committed as one group by the channel's
    /// blocking put.
    pub fn put_group(&self, batches: Vec<Vec<Event>>) -> Outcomes {
        let total = batches.len();
        let (r, name) = (&self.router, self.channel_name());
        let kept = (!r.intake.passes_through()).then(|| batches.clone());
        let mut intercepted = Vec::with_capacity(total);
        for b in batches {
            match r.intake.intercept_native(b) {
                Ok(b) => intercepted.push(b),
                Err(e) => {
                    return group_outcomes(refuse_all(e, kept.unwrap_or_default(), total), total)
                }
            }
        }
        for b in &intercepted {
            tap::offer(tap::Point::Channel, name, b);
        }
        let out = back(name, self.put.put_group_blocking(intercepted), kept);
        group_outcomes(out, total)
    }

    /// [`ChannelProcessor::process`] on this thread: one batch, nothing kept; the error when
    /// refused.
    pub fn process(&self, events: Vec<Event>) -> Result<(), RouteError> {
        let (r, name) = (&self.router, self.channel_name());
        let events = r.intake.intercept_native(events)?;
        if events.is_empty() {
            return Ok(());
        }
        tap::offer(tap::Point::Channel, name, &events);
        let refused = self.put.put_group_blocking(vec![events]).into_iter().next();
        match refused {
            Some(Err(r)) => Err(channel_error(name, r.error)),
            _ => Ok(()),
        }
    }
}

/// The channel's outcomes as the router's: a refused batch handed back as the source gave it
/// (`kept`, when interceptors changed it), else as the channel gave it back.
fn back(name: &str, out: GroupOutcome, kept: Option<Vec<Vec<Event>>>) -> Outcomes {
    let mut kept = kept.map(Vec::into_iter);
    out.into_iter()
        .map(|r| {
            let copy = kept.as_mut().and_then(Iterator::next);
            r.map_err(|Refused { error, events }| Rejected {
                error: channel_error(name, error),
                events: copy.unwrap_or(events),
            })
        })
        .collect()
}

fn channel_error(name: &str, source: AgentChannelError) -> RouteError {
    RouteError::Channel {
        channel: name.to_owned(),
        source,
    }
}

/// Every batch of a group refused before any was offered: the first with `error`, the rest
/// cut; `kept` (the batches as they came) handed back.
fn refuse_all(error: RouteError, kept: Vec<Vec<Event>>, total: usize) -> Outcomes {
    let mut kept = kept.into_iter();
    let mut out = Vec::with_capacity(total);
    out.push(Err(Rejected {
        error,
        events: kept.next().unwrap_or_default(),
    }));
    out.extend((1..total).map(|i| {
        Err(Rejected {
            error: group_cut(i, total),
            events: kept.next().unwrap_or_default(),
        })
    }));
    out
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

/// A group's outcomes as its callers rely on them: one per batch, a committed prefix, then
/// only refusals (a source moves its positions for the `Ok` ones; DESIGN.md, "Sinks and
/// sources").
fn group_outcomes(out: Outcomes, total: usize) -> Outcomes {
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

    fn refusal(error: RouteError) -> Rejected {
        Rejected {
            error,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_refused_interception_refuses_every_batch_of_the_group() {
        let kept = vec![vec![Event::new("a")], vec![Event::new("b")], Vec::new()];
        let out = refuse_all(group_cut(0, 3), kept, 3);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(Result::is_err));
        let back: Vec<usize> = out
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|r| r.events.len())
            .collect();
        assert_eq!(back, vec![1, 1, 0], "each batch handed back as it came");
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

    #[test]
    fn a_batch_lost_with_its_blocking_task_says_so_and_a_refused_one_does_not() {
        let lost = refusal(channel_error("c1", AgentChannelError::Join("c1".into())));
        assert!(lost.lost());
        let full = refusal(channel_error("c1", AgentChannelError::Closed("c1".into())));
        assert!(!full.lost());
    }
}
