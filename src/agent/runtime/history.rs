//! A bounded ring of recent metric samples for the status page, so a freshly opened page
//! draws each channel's fill and each component's rate over the last minutes at once.
//!
//! Every [`SAMPLE_INTERVAL`] the metrics server's sampler task copies the few numbers the
//! page charts ([`CHARTED`]) out of the registry; at most [`SAMPLES_MAX`] samples are kept
//! (15 minutes), so memory is bounded by `SAMPLES_MAX x components x CHARTED.len()`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

use crate::agent::metrics::Registry;

/// Time between two samples.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Samples kept: 15 minutes at one every 5 s.
pub(crate) const SAMPLES_MAX: usize = 180;
/// The attributes the status page charts or turns into rates.
pub(crate) const CHARTED: &[&str] = &[
    "ChannelFillPercentage",
    "ChannelSize",
    "EventPutSuccessCount",
    "EventTakeSuccessCount",
    "EventReceivedCount",
    "EventAcceptedCount",
    "EventDrainSuccessCount",
];

/// One sample: time (ms since the epoch) and, per component key, the charted values.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: u64,
    /// `"CHANNEL.c1" -> {"ChannelFillPercentage": 12.5, ...}`.
    pub m: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

/// The ring of samples.
#[derive(Debug, Default)]
pub(crate) struct History {
    ring: Mutex<VecDeque<Sample>>,
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    #[serde(rename = "intervalMs")]
    interval_ms: u64,
    samples: &'a VecDeque<Sample>,
}

impl History {
    /// Adds a sample of `registry` now, dropping the oldest past [`SAMPLES_MAX`].
    pub(crate) fn sample(&self, registry: &Registry) {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut m = BTreeMap::new();
        for (key, group) in registry.groups() {
            let snap = group.snapshot();
            let values: BTreeMap<&'static str, f64> = CHARTED
                .iter()
                .filter_map(|k| {
                    let v = snap.get(*k)?.parse::<f64>().ok()?;
                    v.is_finite().then_some((*k, v))
                })
                .collect();
            m.insert(key, values);
        }
        let mut ring = self.ring.lock();
        if ring.len() >= SAMPLES_MAX {
            ring.pop_front();
        }
        ring.push_back(Sample { t, m });
    }

    /// Samples held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ring.lock().len()
    }

    /// `{"intervalMs": 5000, "samples": [{"t": ..., "m": {...}}, ...]}`, oldest first.
    pub(crate) fn to_json(&self) -> String {
        let ring = self.ring.lock();
        serde_json::to_string(&HistoryJson {
            interval_ms: SAMPLE_INTERVAL.as_millis() as u64,
            samples: &ring,
        })
        .unwrap_or_else(|_| "{\"samples\":[]}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::CounterGroup;

    #[test]
    fn the_ring_keeps_the_newest_samples_and_only_charted_values() {
        let r = Registry::for_agent("a1");
        let g = CounterGroup::channel();
        g.add(crate::agent::metrics::ChannelCounter::PutSuccess, 4);
        r.register("c1", g);
        let h = History::default();
        for _ in 0..SAMPLES_MAX + 3 {
            h.sample(&r);
        }
        assert_eq!(h.len(), SAMPLES_MAX);
        let v: serde_json::Value = serde_json::from_str(&h.to_json()).unwrap();
        let first = &v["samples"][0]["m"]["CHANNEL.c1"];
        assert_eq!(first["EventPutSuccessCount"], 4.0);
        assert!(first.get("StartTime").is_none());
        assert_eq!(v["intervalMs"], 5000);
    }
}
