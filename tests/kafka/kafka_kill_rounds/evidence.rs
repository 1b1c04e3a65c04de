//! The evidence of a kill round: the wait for every acknowledged line, the operator's heal
//! (the collectors restarted) when some stay undelivered, and where each such line is: never
//! in the topic, before the group's committed offset, in a partition a live collector held,
//! or inside a resume gap the broker skipped.

use crate::support::kafka_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::DELIVERY_WAIT;
use kafka_support::*;

/// Where a round's lines go: the broker, the topic, the collectors' group and output dirs.
pub(super) struct Heal<'a> {
    pub(super) b: &'a Broker,
    pub(super) topic: &'a str,
    pub(super) group: &'a str,
    pub(super) dirs: &'a [PathBuf],
}

impl Heal<'_> {
    /// Waits for `want` in the outputs; when some stay undelivered, restarts the collectors
    /// as an operator would and waits again. Answers the lines still undelivered, how many
    /// were stuck before the restart, and those stuck in a partition a live collector held.
    pub(super) fn deliver(
        &self,
        want: &[String],
        edge: &Agent,
        cols: &mut [Agent],
    ) -> (Vec<String>, usize, Vec<String>) {
        let mut undelivered = wait_delivered(self.dirs, want);
        let mut stuck = 0;
        let mut stuck_in_held = Vec::new();
        if !undelivered.is_empty() {
            // Classify (evidence), then do what an operator does when a broker leaves partitions
            // unconsumed: stop every collector gracefully (the consumers leave the group) and
            // start them again. A line the group committed past, or one never in the topic, is
            // still missing after that, and fails the round; so does a line of a partition a live
            // collector held all along (the broker's limit is only partitions no member holds).
            stuck = undelivered.len();
            explain(self.b, self.topic, self.group, &undelivered, edge, cols);
            stuck_in_held = in_held_partitions(self.b, self.topic, &undelivered, cols);
            for c in cols.iter_mut() {
                c.stop();
            }
            for c in cols.iter_mut() {
                c.restart_on(None);
            }
            undelivered = wait_delivered(self.dirs, want);
            if !undelivered.is_empty() {
                eprintln!("still undelivered after the collectors' restart:");
                explain(self.b, self.topic, self.group, &undelivered, edge, cols);
            }
        }
        (undelivered, stuck, stuck_in_held)
    }
}

/// The partitions a collector holds now: the last `kafka partitions held now` line of its
/// log (the running process's).
fn held_now(c: &Agent) -> BTreeSet<i32> {
    let log = c.log_text();
    let Some(line) = log
        .lines()
        .rev()
        .find(|l| l.contains("kafka partitions held now"))
    else {
        return BTreeSet::new();
    };
    let Some((_, list)) = line.split_once("partitions=") else {
        return BTreeSet::new();
    };
    list.split_whitespace()
        .filter_map(|tp| tp.rsplit_once('/')?.1.parse().ok())
        .collect()
}

/// The lines of `undelivered` whose partition a live collector holds.
fn in_held_partitions(
    b: &Broker,
    topic: &str,
    undelivered: &[String],
    cols: &[Agent],
) -> Vec<String> {
    let held: BTreeSet<i32> = cols.iter().flat_map(held_now).collect();
    let wanted: BTreeSet<&[u8]> = undelivered.iter().map(|l| l.as_bytes()).collect();
    let out: Vec<String> = b
        .read_topic(topic, Duration::from_secs(5))
        .into_iter()
        .filter(|(p, _, v)| held.contains(p) && wanted.contains(v.as_slice()))
        .map(|(_, _, v)| String::from_utf8_lossy(&v).into_owned())
        .collect();
    eprintln!(
        "partitions held by the live collectors: {held:?}; {} undelivered lines in them",
        out.len()
    );
    out
}

/// Splits `undelivered` into the lines inside a resume gap a collector reported (the broker
/// skipped them) and the rest.
pub(super) fn broker_skipped(
    b: &Broker,
    topic: &str,
    group: &str,
    undelivered: Vec<String>,
    cols: &[Agent],
) -> (Vec<String>, Vec<String>) {
    if undelivered.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let gap = regex::Regex::new(r"partition=(\d+) committed=(\d+) first=(\d+)").unwrap();
    let mut gaps: Vec<(i32, i64, i64)> = Vec::new();
    for c in cols {
        for l in c
            .log_text()
            .lines()
            .filter(|l| l.contains("past its committed offset"))
        {
            if let Some(m) = gap.captures(l) {
                gaps.push((
                    m[1].parse().unwrap(),
                    m[2].parse().unwrap(),
                    m[3].parse().unwrap(),
                ));
            }
        }
    }
    let at: BTreeMap<Vec<u8>, (i32, i64)> = b
        .read_topic(topic, Duration::from_secs(5))
        .into_iter()
        .map(|(p, o, v)| (v, (p, o)))
        .collect();
    // A partition whose committed offset the broker does not serve from (the same fault at
    // the end of the stream: nothing later arrives to show the gap), probed by a plain
    // consumer that starts there.
    let committed = b.committed(topic, group, 4);
    let mut unserved: BTreeMap<i32, bool> = BTreeMap::new();
    let (skipped, lost): (Vec<String>, Vec<String>) = undelivered.into_iter().partition(|l| {
        let Some(&(p, o)) = at.get(l.as_bytes()) else {
            return false; // never in the topic: the edge's loss
        };
        if gaps
            .iter()
            .any(|(gp, c, f)| *gp == p && (*c..*f).contains(&o))
        {
            return true;
        }
        match committed.get(&p) {
            Some(&c) if o >= c => *unserved
                .entry(p)
                .or_insert_with(|| !b.serves_from(topic, p, c, Duration::from_secs(5))),
            _ => false,
        }
    });
    if !skipped.is_empty() {
        eprintln!(
            "{} undelivered lines the broker never served (reported gaps {gaps:?}; partitions \
             not served from their committed offset {unserved:?})",
            skipped.len()
        );
    }
    (skipped, lost)
}

/// Waits (at most [`DELIVERY_WAIT`]) until every line of `want` is in a file under `dirs`;
/// returns those that are not.
fn wait_delivered(dirs: &[PathBuf], want: &[String]) -> Vec<String> {
    let end = Instant::now() + DELIVERY_WAIT;
    loop {
        let got: Vec<String> = dirs.iter().flat_map(|d| written(d)).collect();
        let have: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<String> = want.iter().filter(|l| !have.contains(l)).cloned().collect();
        if missing.is_empty() || Instant::now() >= end {
            return missing;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints where the undelivered lines are: never in the topic (the edge's loss), in the
/// topic before the group's committed offset (a collector committed past them: its loss),
/// or at or after it (no collector was given them: the broker's group coordination).
fn explain(
    b: &Broker,
    topic: &str,
    group: &str,
    undelivered: &[String],
    edge: &Agent,
    cols: &[Agent],
) {
    let records = b.read_topic(topic, Duration::from_secs(5));
    let committed = b.committed(topic, group, 4);
    let wanted: BTreeSet<&[u8]> = undelivered.iter().map(|l| l.as_bytes()).collect();
    let mut behind: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut ahead: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut in_topic = 0;
    for (p, o, v) in &records {
        if wanted.contains(v.as_slice()) {
            in_topic += 1;
            let side = if committed.get(p).is_some_and(|c| o < c) {
                &mut behind
            } else {
                &mut ahead
            };
            side.entry(*p).or_default().push(*o);
        }
    }
    let spans = |m: &BTreeMap<i32, Vec<i64>>| -> String {
        m.iter()
            .map(|(p, os)| {
                format!(
                    "partition {p} offsets {}..={} ({} records, committed {:?})",
                    os.iter().min().unwrap(),
                    os.iter().max().unwrap(),
                    os.len(),
                    committed.get(p)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    eprintln!(
        "UNDELIVERED {} acknowledged lines (first {:?}); never in the topic: {}; before the \
         group's committed offset (a collector skipped them): [{}]; at or after it (no \
         collector consumed them): [{}]",
        undelivered.len(),
        undelivered.first(),
        undelivered.len() - in_topic,
        spans(&behind),
        spans(&ahead)
    );
    let procs = std::iter::once(&edge.proc).chain(cols.iter().map(|c| &c.proc));
    let logs = logs_of(procs);
    // The rebalance lines tell which member held which partition.
    for l in logs.lines().filter(|l| {
        l.starts_with("---")
            || l.contains("partitions")
            || l.contains("WARN")
            || l.contains("ERROR")
    }) {
        eprintln!("{l}");
    }
}
