//! Which partitions the `kafka` source holds: the `KafkaPartitionsAssigned` gauge, and a WARN
//! when the source has held no partition of a topic it subscribed to by name for longer than
//! the group's session timeout while that topic has partitions.
//!
//! A member sees only its own assignment (a broker's DescribeGroups may or may not report the
//! others': tansu 0.6 sends them empty), so this is what one source can know: its share is
//! empty for longer than a dead member may keep its partitions. That is normal when the
//! group has more members than the topic has partitions, and otherwise a sign that the broker
//! left partitions to no member (docs/kafka.md). One WARN per episode: the clock restarts when
//! the source is given a partition of the topic again. A `kafka.topics.regex` subscription is
//! not watched (the topics it matches are not known by name).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The gauge's name in the source's metrics (`flume_source_kafka_partitions_assigned`).
pub(crate) const GAUGE: &str = "KafkaPartitionsAssigned";

/// A partition: topic and number.
pub(crate) type Partition = (String, i32);

/// The held partitions and the topics the source holds none of, since when.
#[derive(Debug)]
pub(crate) struct Ownership {
    topics: Vec<String>,
    limit: Duration,
    empty_since: BTreeMap<String, Instant>,
    warned: BTreeSet<String>,
    held: Arc<AtomicU64>,
}

impl Ownership {
    /// Watches `topics` (none for a regex subscription) with `limit` (the session timeout),
    /// holding nothing since `now`; the held count goes to `held` (the gauge's cell).
    pub(crate) fn new(
        topics: Vec<String>,
        limit: Duration,
        now: Instant,
        held: Arc<AtomicU64>,
    ) -> Self {
        held.store(0, Ordering::Relaxed);
        let empty_since = topics.iter().map(|t| (t.clone(), now)).collect();
        Ownership {
            topics,
            limit,
            empty_since,
            warned: BTreeSet::new(),
            held,
        }
    }

    /// The source's assignment is `assignment` since `now`.
    pub(crate) fn set(&mut self, assignment: &[Partition], now: Instant) {
        self.held.store(assignment.len() as u64, Ordering::Relaxed);
        for t in &self.topics {
            if assignment.iter().any(|(at, _)| at == t) {
                self.empty_since.remove(t);
                self.warned.remove(t);
            } else {
                self.empty_since.entry(t.clone()).or_insert(now);
            }
        }
    }

    /// Topics held none of for longer than the limit and not warned about yet.
    pub(crate) fn due(&self, now: Instant) -> Vec<String> {
        self.empty_since
            .iter()
            .filter(|(t, since)| {
                now.saturating_duration_since(**since) > self.limit && !self.warned.contains(*t)
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// `topic` was warned about (no second WARN until it is held again).
    pub(crate) fn warned(&mut self, topic: &str) {
        self.warned.insert(topic.to_owned());
    }

    /// `topic` could not be checked, or has no partitions: its clock starts again at `now`.
    pub(crate) fn later(&mut self, topic: &str, now: Instant) {
        if let Some(since) = self.empty_since.get_mut(topic) {
            *since = now;
        }
    }

    /// The session timeout the watch waits.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }
}

/// `topic/0 topic/1 ...`.
pub(crate) fn names(partitions: &[Partition]) -> String {
    partitions
        .iter()
        .map(|(t, p)| format!("{t}/{p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(6);

    fn watch(t0: Instant) -> (Ownership, Arc<AtomicU64>) {
        let held = Arc::new(AtomicU64::new(7));
        let o = Ownership::new(vec!["logs".into(), "audit".into()], LIMIT, t0, held.clone());
        (o, held)
    }

    #[test]
    fn a_topic_held_none_of_past_the_session_timeout_is_due_once() {
        let t0 = Instant::now();
        let (mut o, held) = watch(t0);
        assert_eq!(held.load(Ordering::Relaxed), 0);
        o.set(&[("audit".into(), 0)], t0);
        assert!(o.due(t0 + LIMIT).is_empty(), "not past the limit yet");
        assert_eq!(o.due(t0 + LIMIT + Duration::from_millis(1)), vec!["logs"]);
        o.warned("logs");
        assert!(o.due(t0 + 10 * LIMIT).is_empty(), "one WARN per episode");
        assert_eq!(held.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_partition_given_back_ends_the_episode_and_a_later_loss_starts_a_new_one() {
        let t0 = Instant::now();
        let (mut o, held) = watch(t0);
        o.set(&[("audit".into(), 0)], t0);
        o.warned("logs");
        let t1 = t0 + 3 * LIMIT;
        o.set(&[("logs".into(), 1), ("audit".into(), 0)], t1);
        assert_eq!(held.load(Ordering::Relaxed), 2);
        let t2 = t1 + LIMIT;
        o.set(&[("audit".into(), 0)], t2);
        assert!(o.due(t2 + LIMIT).is_empty());
        assert_eq!(o.due(t2 + LIMIT + Duration::from_millis(1)), vec!["logs"]);
        assert_eq!(held.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_topic_that_could_not_be_checked_waits_a_whole_timeout_again() {
        let t0 = Instant::now();
        let (mut o, _) = watch(t0);
        o.set(&[("audit".into(), 0)], t0);
        let t1 = t0 + 2 * LIMIT;
        o.later("logs", t1);
        assert!(o.due(t1 + LIMIT).is_empty());
        assert_eq!(o.due(t1 + 2 * LIMIT), vec!["logs"]);
    }
}
