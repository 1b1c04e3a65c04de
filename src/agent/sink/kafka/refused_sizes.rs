//! What the brokers refused as too large: per topic, the smallest record value a delivery
//! report answered `MSG_SIZE_TOO_LARGE` for (the broker's `message.max.bytes` or the topic's
//! `max.message.bytes`, which may be below the producer's own `message.max.bytes`, checked
//! by librdkafka when a record is produced). The batch with such a record fails once, as
//! any refused batch; when it is produced again, a record at least that large is poison
//! ([`super::record`]) instead of failing the batch forever (issue 87).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// Most topics remembered (a templated topic may make many); past it all are forgotten
/// (a record then fails its batch once more before it is poison again).
pub(crate) const TOPICS_MAX: usize = 1024;

/// Per topic, the smallest value size a broker refused as too large. Shared between the
/// producer's delivery callback and the sink.
#[derive(Debug, Clone, Default)]
pub(crate) struct RefusedSizes(Arc<Mutex<HashMap<String, usize>>>);

impl RefusedSizes {
    /// A broker refused a record of `bytes` to `topic` as too large.
    pub(crate) fn refused(&self, topic: &str, bytes: usize) {
        let mut m = self.0.lock();
        if m.len() >= TOPICS_MAX && !m.contains_key(topic) {
            m.clear();
        }
        let e = m.entry(topic.to_owned()).or_insert(bytes);
        *e = (*e).min(bytes);
    }

    /// The smallest size refused for `topic` if a record of `bytes` is at least that large.
    pub(crate) fn too_large(&self, topic: &str, bytes: usize) -> Option<usize> {
        self.0
            .lock()
            .get(topic)
            .copied()
            .filter(|min| bytes >= *min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_as_large_as_one_refused_is_too_large_and_a_smaller_one_is_not() {
        let r = RefusedSizes::default();
        assert_eq!(r.too_large("t", 5000), None);
        r.refused("t", 5000);
        r.refused("t", 7000);
        assert_eq!(r.too_large("t", 5000), Some(5000));
        assert_eq!(r.too_large("t", 4999), None);
        assert_eq!(r.too_large("other", 9000), None);
    }

    #[test]
    fn past_the_topic_limit_everything_is_forgotten() {
        let r = RefusedSizes::default();
        for i in 0..TOPICS_MAX {
            r.refused(&format!("t{i}"), 10);
        }
        assert_eq!(r.too_large("t0", 10), Some(10));
        r.refused("new", 10);
        assert_eq!(r.too_large("t0", 10), None);
        assert_eq!(r.too_large("new", 10), Some(10));
    }
}
