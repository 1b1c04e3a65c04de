//! The reloads of `sluice agent`: on a change seen by the `-i` poll, on SIGHUP and on
//! `POST /reload` (see `sluice::agent::runtime::reload`). Each reads the file again; an
//! unchanged configuration does nothing, a changed one restarts only the changed components
//! (`Agent::apply`), one with errors leaves the running configuration as it is, and one that
//! would move a file channel holding events is refused (nothing changes). The outcome
//! is logged (naming what asked) and counted in `AGENT.<agent>`.

use sluice::agent::channel::AgentChannelError;
use sluice::agent::metrics::CounterGroup;
use sluice::agent::runtime::reload::{Outcome, Trigger};
use sluice::agent::runtime::Agent;

use sluice::agent::topology::AgentConfig;

/// Reads the file again (`load`: the configuration, or its rendered errors) and applies it;
/// logs and counts the outcome.
pub async fn reload(
    load: impl FnOnce() -> anyhow::Result<Result<AgentConfig, Vec<String>>>,
    agent: &mut Agent,
    trigger: Trigger,
    counters: &CounterGroup,
) -> Outcome {
    let outcome = match load() {
        Ok(Ok(new)) if new == *agent.config() => Outcome::Unchanged,
        Ok(Ok(new)) => {
            tracing::info!(trigger = %trigger, "configuration changed; restarting changed components");
            match agent.apply(new).await {
                Ok(()) => {
                    if report_not_ready(agent).await.is_empty() {
                        tracing::info!("the new configuration is running");
                    }
                    Outcome::Applied
                }
                Err(e @ AgentChannelError::Moved { .. }) => Outcome::Refused(e.to_string()),
                Err(e) => Outcome::Failed(format!("applying the new configuration failed: {e}")),
            }
        }
        Ok(Err(errors)) => Outcome::Rejected(errors),
        Err(e) => Outcome::Failed(format!("reading the configuration failed: {e:#}")),
    };
    match &outcome {
        Outcome::Unchanged => {
            tracing::info!(trigger = %trigger, outcome = "unchanged", "reload: the configuration is the running one")
        }
        Outcome::Applied => {
            tracing::info!(trigger = %trigger, outcome = "applied", "reload: the new configuration was applied")
        }
        Outcome::Rejected(errors) => {
            for e in errors {
                tracing::error!("{e}");
            }
            tracing::error!(trigger = %trigger, outcome = "rejected", errors = errors.len(), "reload: the configuration has errors; keeping the running one");
        }
        Outcome::Failed(e) => {
            tracing::error!(trigger = %trigger, outcome = "failed", error = %e, "reload failed; the previous configuration keeps running");
        }
        Outcome::Refused(e) => {
            tracing::error!(trigger = %trigger, outcome = "refused", error = %e, "reload refused: it would leave events behind; the running configuration stays");
        }
    }
    outcome.count(counters);
    outcome
}

/// Waits for the sources to accept input; warns about each that does not. Why each does not
/// (`source r1: cannot listen on ...`): empty when all do.
pub async fn report_not_ready(agent: &mut Agent) -> Vec<String> {
    let not_ready = agent.sources_ready().await;
    let mut whys = Vec::with_capacity(not_ready.len());
    for (source, why) in &not_ready {
        // `why` is the source's error, which names it ("source r1: cannot listen on ...").
        let why = if why.starts_with(&format!("source {source}:")) {
            why.clone()
        } else {
            format!("source {source}: {why}")
        };
        tracing::warn!(
            "source does not accept input: {why}; it is restarted with backoff, and the rest of the agent runs"
        );
        whys.push(why);
    }
    whys
}
