//! The agent's alarm task: the evaluator ([`crate::agent::alarm::evaluator`]) running beside
//! the components, following each applied configuration.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::alarm::AlarmBoard;
use crate::agent::metrics::Registry;
use crate::agent::topology::AgentConfig;

/// The agent's alarm evaluator ([`crate::agent::alarm::evaluator`]) and its configuration.
#[derive(Debug)]
pub(crate) struct AlarmTask {
    cfg: tokio::sync::watch::Sender<crate::agent::alarm::config::AlarmsConfig>,
    stop: crate::agent::stop::StopHandle,
    task: tokio::task::JoinHandle<()>,
}

impl AlarmTask {
    pub(crate) fn start(registry: &Arc<Registry>, board: &Arc<AlarmBoard>, agent: &str) -> Self {
        let (cfg, rx) = tokio::sync::watch::channel(Default::default());
        let (stop, stopped) = crate::agent::stop::channel();
        let task = tokio::spawn(crate::agent::alarm::evaluator::run(
            registry.clone(),
            board.clone(),
            agent.to_owned(),
            rx,
            stopped,
        ));
        AlarmTask { cfg, stop, task }
    }

    /// Hands the alarm configuration of `new` to the task; forgets the upstreams of RPC
    /// sources no longer configured, and the loss windows of
    /// TAILDIR sources no longer configured.
    pub(crate) fn apply(&self, registry: &Registry, board: &AlarmBoard, new: &AgentConfig) {
        self.cfg.send_if_modified(|c| {
            let changed = *c != new.alarms;
            if changed {
                *c = new.alarms.clone();
            }
            changed
        });
        let rpc_sources = new
            .sources
            .iter()
            .filter(|(_, s)| s.kind.builder().tracks_upstreams())
            .map(|(n, _)| n.clone())
            .collect();
        board.retain_upstream_sources(&rpc_sources);
        let file_sources = new
            .sources
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s.kind,
                    crate::agent::registry::SourceKind::Taildir(_)
                        | crate::agent::registry::SourceKind::Kubernetes(_)
                )
            })
            .map(|(n, _)| n.clone())
            .collect();
        board.retain_loss_sources(&file_sources);
        // `ALARMS.notifiers` shows only where alarms are configured, so Flume's tools reading
        // `/metrics` of an agent without alarms see exactly Flume's component types.
        if new.alarms.rules.is_empty() && new.alarms.notifiers.is_empty() {
            registry.remove("ALARMS", "notifiers");
        } else {
            registry.register("notifiers", board.counters());
        }
    }

    pub(crate) async fn stop(self) {
        self.stop.stop();
        if tokio::time::timeout(Duration::from_millis(500), self.task)
            .await
            .is_err()
        {
            tracing::warn!("the alarm task did not stop in time");
        }
    }
}
