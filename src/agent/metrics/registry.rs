//! Every component's metrics, keyed `TYPE.name` as Flume keys them, rendered as Flume's JSON
//! (every value a string). The alarms are not here: the alarm board reads this registry, never
//! the other way round.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::group::CounterGroup;

/// Every component's counters, keyed `TYPE.name`.
#[derive(Debug, Default)]
pub struct Registry {
    groups: Mutex<BTreeMap<String, Arc<CounterGroup>>>,
    /// The agent's name (`-n`), the `agent` label of the Prometheus exposition.
    agent: String,
}

impl Registry {
    /// An empty registry of agent `name`.
    pub(crate) fn for_agent(name: &str) -> Self {
        Registry {
            groups: Mutex::default(),
            agent: name.to_owned(),
        }
    }

    /// The agent's name ("" when not given).
    pub(crate) fn agent(&self) -> &str {
        &self.agent
    }

    /// Every group with its key `TYPE.name`, in key order.
    pub(crate) fn groups(&self) -> Vec<(String, Arc<CounterGroup>)> {
        self.groups
            .lock()
            .iter()
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect()
    }

    /// Registers (or replaces, after a restart) the group of component `name`.
    pub fn register(&self, name: &str, group: Arc<CounterGroup>) {
        let key = format!("{}.{name}", group.kind());
        self.groups.lock().insert(key, group);
    }

    /// Removes a component's group.
    pub(crate) fn remove(&self, kind: &str, name: &str) {
        self.groups.lock().remove(&format!("{kind}.{name}"));
    }

    /// The group registered under `TYPE.name`.
    pub fn get(&self, key: &str) -> Option<Arc<CounterGroup>> {
        self.groups.lock().get(key).cloned()
    }

    /// Flume's JSON: `{"SOURCE.r1": {"EventReceivedCount": "3", ...}, ...}`.
    pub(crate) fn to_json(&self) -> String {
        let snap: BTreeMap<String, BTreeMap<String, String>> = self
            .groups
            .lock()
            .iter()
            .map(|(k, g)| (k.clone(), g.snapshot()))
            .collect();
        serde_json::to_string(&snap).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The number `key` of component `component` (`CHANNEL.c1`, `ChannelFillPercentage`):
    /// a counter, or a gauge parsed as a number; `None` when not shown.
    pub(crate) fn value(&self, component: &str, key: &str) -> Option<f64> {
        self.get(component)?.value(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::{CounterGroup, SourceCounter};

    #[test]
    fn json_has_flume_keys_and_string_values() {
        let r = Registry::default();
        let g = CounterGroup::source();
        g.add(SourceCounter::EventReceived, 3);
        r.register("r1", g);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["SOURCE.r1"]["EventReceivedCount"], "3");
        assert_eq!(v["SOURCE.r1"]["Type"], "SOURCE");
    }
}
