//! Runs one test case: the inputs go through the source's real [`ChannelProcessor`] (its
//! interceptors and selector) into capturing channels; then every sink takes from its
//! channel in batches of its `batchSize`, as the sink runners do: a sink group asks its real
//! processor policy which sink goes next (all sinks healthy: failover keeps the highest
//! priority, load_balance rotates), and sinks outside groups that share a channel take
//! batches in turn (in the agent they compete; which batch goes where is timing).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use super::capture::CaptureChannel;
use super::spec::Case;
use crate::agent::channel::AgentChannel;
use crate::agent::router::ChannelProcessor;
use crate::agent::topology::AgentConfig;
use sluice_core::Event;

/// The header that tags each input with its index while it flows (removed before checks);
/// a configuration should not use it.
pub(crate) const TAG_HEADER: &str = "sluice.test.input";
/// Yields after the batch so the detached puts on optional channels finish.
pub(crate) const OPTIONAL_PUT_YIELDS: usize = 64;

/// What arrived where.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    /// Committed into each channel, in order.
    pub channels: BTreeMap<String, Vec<Event>>,
    /// Taken by each sink, in order.
    pub sinks: BTreeMap<String, Vec<Event>>,
    /// Inputs that reached no channel; `None` when an interceptor removed the tag header.
    pub dropped: Option<usize>,
}

/// A case that cannot run against the configuration.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The case names a component the configuration does not have.
    #[error("{0} is not in the configuration")]
    Unknown(String),
    /// The source's processor could not be built (an interceptor's keys).
    #[error("source {source_name}: {why}")]
    Build {
        /// The source.
        source_name: String,
        /// Why.
        why: String,
    },
}

/// Runs `case` against `cfg`.
pub async fn run_case(cfg: &AgentConfig, case: &Case) -> Result<Delivered, RunError> {
    let src = cfg
        .sources
        .get(&case.source)
        .ok_or_else(|| RunError::Unknown(format!("source {}", case.source)))?;
    for o in &case.outputs {
        let known = match (&o.channel, &o.sink) {
            (Some(c), _) => cfg.channels.contains_key(c),
            (None, Some(s)) => cfg.sinks.contains_key(s),
            (None, None) => true,
        };
        if !known {
            return Err(RunError::Unknown(o.component()));
        }
    }
    let captures: BTreeMap<String, Arc<CaptureChannel>> = cfg
        .channels
        .keys()
        .map(|n| (n.clone(), Arc::new(CaptureChannel::default())))
        .collect();
    let channels: BTreeMap<String, Arc<dyn AgentChannel>> = captures
        .iter()
        .map(|(n, c)| (n.clone(), c.clone() as Arc<dyn AgentChannel>))
        .collect();
    let build = |why: String| RunError::Build {
        source_name: case.source.clone(),
        why,
    };
    let router = ChannelProcessor::new(src, &channels).map_err(|e| build(e.to_string()))?;
    let inputs: Vec<Event> = case
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut e = Event::new(input.body.clone().into_bytes());
            e.headers = input.headers.clone().into();
            e.headers.insert(TAG_HEADER, i.to_string());
            e
        })
        .collect();
    router
        .process(inputs)
        .await
        .map_err(|e| build(e.to_string()))?;
    for _ in 0..OPTIONAL_PUT_YIELDS {
        tokio::task::yield_now().await;
    }
    let mut out = Delivered::default();
    let mut seen = BTreeSet::new();
    let mut untagged = false;
    for (name, c) in &captures {
        let mut events = c.events();
        for e in &mut events {
            match e.headers.remove(TAG_HEADER) {
                Some(t) => {
                    seen.insert(t);
                }
                None => untagged = true,
            }
        }
        out.channels.insert(name.clone(), events);
    }
    out.dropped = (!untagged).then(|| case.inputs.len().saturating_sub(seen.len()));
    out.sinks = take_by_sinks(cfg, &out.channels);
    Ok(out)
}

/// Lets every sink take from its channel as the runners would, all sinks healthy.
fn take_by_sinks(
    cfg: &AgentConfig,
    channels: &BTreeMap<String, Vec<Event>>,
) -> BTreeMap<String, Vec<Event>> {
    let mut queues: BTreeMap<String, VecDeque<Event>> = channels
        .iter()
        .map(|(n, e)| (n.clone(), e.iter().cloned().collect()))
        .collect();
    let mut taken: BTreeMap<String, Vec<Event>> =
        cfg.sinks.keys().map(|s| (s.clone(), Vec::new())).collect();
    let mut take = |sink: &str, queues: &mut BTreeMap<String, VecDeque<Event>>| -> usize {
        let Some(s) = cfg.sinks.get(sink) else {
            return 0;
        };
        let Some(q) = queues.get_mut(&s.channel) else {
            return 0;
        };
        let n = s.kind.batch_size().max(1).min(q.len());
        let batch: Vec<Event> = q.drain(..n).collect();
        if let Some(t) = taken.get_mut(sink) {
            t.extend(batch);
        }
        n
    };
    let grouped: BTreeSet<&String> = cfg.sinkgroups.values().flat_map(|g| &g.sinks).collect();
    let now = Instant::now();
    for g in cfg.sinkgroups.values() {
        let mut policy = g.processor.policy();
        // Each round takes at least one event or ends: bounded by the events queued.
        while let Some(sink) = policy.order(now).into_iter().next() {
            if take(&sink, &mut queues) == 0 {
                break;
            }
            policy.report_success(&sink);
        }
    }
    // Sinks outside groups: those sharing a channel take batches in turn (name order).
    let mut by_channel: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for (name, s) in &cfg.sinks {
        if !grouped.contains(name) {
            by_channel.entry(s.channel.as_str()).or_default().push(name);
        }
    }
    for sinks in by_channel.values() {
        'rounds: loop {
            for s in sinks {
                if take(s, &mut queues) == 0 {
                    break 'rounds;
                }
            }
        }
    }
    taken
}
