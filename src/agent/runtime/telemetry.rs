//! What an agent shows about itself: the metrics registry, the alarm board and whether it has
//! started, made together and handed to the runtime and the metrics server, so both see the
//! same board. The board reads the registry; the registry knows nothing of alarms.

use std::sync::Arc;

use super::health::Readiness;
use crate::agent::alarm::AlarmBoard;
use crate::agent::metrics::Registry;

/// An agent's metrics and alarms.
#[derive(Clone, Debug, Default)]
pub struct Telemetry {
    /// Every component's counters (`/metrics`).
    pub metrics: Arc<Registry>,
    /// The active alarms, notifiers and remembered upstreams (`/alarms`).
    pub alarms: Arc<AlarmBoard>,
    /// Set once the agent logged `agent started` (`/ready`).
    pub ready: Arc<Readiness>,
}

impl Telemetry {
    /// The telemetry of agent `name`: an empty registry and board.
    pub fn for_agent(name: &str) -> Self {
        Telemetry::from(Arc::new(Registry::for_agent(name)))
    }
}

impl From<Arc<Registry>> for Telemetry {
    /// `metrics` with a board of its own.
    fn from(metrics: Arc<Registry>) -> Self {
        Telemetry {
            metrics,
            alarms: Arc::default(),
            ready: Arc::default(),
        }
    }
}
