//! Where each newly assigned partition resumes, and whether the broker served it from there.
//!
//! After an assignment a partition is fetched from the group's committed offset. A broker
//! that cannot serve a fetch starting inside a stored record batch (tansu 0.6 answers it with
//! the next batch, or nothing: docs/kafka.md, "tansu") skips the rest of that batch without
//! an error, and so do retention and compaction legitimately. The kafka source cannot get
//! such records back, but it must not lose them silently: the first record of each newly
//! assigned partition is compared with the committed offset it resumed from, and a gap is
//! logged (WARN, with the offsets) and counted.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::{Offset, TopicPartitionList};

/// How long the committed offsets of newly assigned partitions may take to arrive.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(10);

/// A partition: topic and number.
pub(crate) type Partition = (String, i32);

/// Offsets skipped at a resume: the committed offset and the first record served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    /// The group's committed offset the partition resumed from.
    pub committed: i64,
    /// The first record the broker served.
    pub first: i64,
}

impl Gap {
    /// Records skipped.
    pub(crate) fn records(&self) -> i64 {
        self.first - self.committed
    }
}

/// The committed offset of each partition assigned since its first record was seen.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    from: BTreeMap<Partition, i64>,
}

impl Resume {
    /// Records the committed offsets read for newly assigned partitions.
    pub(crate) fn set(&mut self, committed: impl IntoIterator<Item = (Partition, i64)>) {
        self.from.extend(committed);
    }

    /// Forgets revoked partitions.
    pub(crate) fn forget(&mut self, revoked: &[Partition]) {
        for p in revoked {
            self.from.remove(p);
        }
    }

    /// The first record of `partition` since its assignment is at `offset`: the gap, if the
    /// broker skipped records after the committed offset. Later records are not checked.
    pub(crate) fn first_record(&mut self, partition: &Partition, offset: i64) -> Option<Gap> {
        let committed = self.from.remove(partition)?;
        (offset > committed).then_some(Gap {
            committed,
            first: offset,
        })
    }
}

/// The list of `partitions` for an OffsetFetch.
pub(crate) fn partition_list(partitions: &[Partition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in partitions {
        tpl.add_partition(t, *p);
    }
    tpl
}

/// The committed offsets in an OffsetFetch answer (partitions without one left out).
pub(crate) fn committed_of(tpl: &TopicPartitionList) -> Vec<(Partition, i64)> {
    tpl.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect()
}

/// The committed-offset query's time limit.
pub(crate) fn committed_timeout() -> Duration {
    COMMITTED_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_record_after_the_committed_offset_is_a_gap_once() {
        let mut r = Resume::default();
        let p: Partition = ("t".into(), 0);
        r.set([(p.clone(), 100)]);
        assert_eq!(
            r.first_record(&p, 150),
            Some(Gap {
                committed: 100,
                first: 150
            })
        );
        assert_eq!(
            r.first_record(&p, 400),
            None,
            "only the first record is checked"
        );
    }

    #[test]
    fn a_first_record_at_the_committed_offset_or_an_unassigned_partition_is_no_gap() {
        let mut r = Resume::default();
        let p: Partition = ("t".into(), 0);
        r.set([(p.clone(), 100)]);
        assert_eq!(r.first_record(&p, 100), None);
        assert_eq!(r.first_record(&("t".into(), 1), 7), None);
        r.set([(p.clone(), 5)]);
        r.forget(std::slice::from_ref(&p));
        assert_eq!(r.first_record(&p, 9), None, "revoked: not checked");
    }
}
