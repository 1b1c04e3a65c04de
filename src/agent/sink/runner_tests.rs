//! The pipelined runner against the memory channel and a scripted sink: which events are
//! committed, rolled back and delivered again when a delivery or a take commit fails, for
//! "commit but back off", for stop in the middle of the pipeline and for sink groups.

#![allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::agent::channel::memory::MemoryChannel;
use crate::agent::channel::memory::MemoryConfig;
use crate::agent::processor::{
    FailoverConfig, FailoverPolicy, LoadBalanceConfig, LoadBalancePolicy, Selection,
};
use crate::agent::sink::scripted::{FailingCommits, OneTaker, ScriptedSink};
use sluice_core::Event;

const BATCH: usize = 4;

pub(super) fn events(n: usize) -> Vec<Event> {
    (0..n).map(|i| Event::new(format!("e{i:03}"))).collect()
}

async fn memory_channel(events: Vec<Event>) -> Arc<MemoryChannel> {
    let ch = Arc::new(MemoryChannel::new(
        "c1",
        MemoryConfig::sized(1000, 100, Duration::from_secs(1)),
    ));
    let mut tx = ch.begin();
    tx.put_all(events).await.unwrap();
    tx.commit().await.unwrap();
    ch
}

pub(super) fn unit(
    sink: &ScriptedSink,
    ch: Arc<dyn AgentChannel>,
) -> (SinkUnit, Arc<CounterGroup>) {
    let counters = CounterGroup::sink();
    (
        SinkUnit {
            sink: Box::new(sink.clone()),
            channel: ch,
            batch_size: BATCH,
            counters: counters.clone(),
            poison: crate::agent::sink::poison::PoisonHandler::new("k", None),
        },
        counters,
    )
}

/// Runs the units under `policy` until `done` says so (checked every 10 ms, at most 10 s),
/// then stops the runner and waits for it.
pub(super) async fn run_until(
    units: BTreeMap<String, SinkUnit>,
    policy: SinkPolicy,
    done: impl Fn() -> bool,
) {
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(run("r".into(), units, policy, stop));
    for _ in 0..1000 {
        if done() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.stop();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the runner stops")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_rounds_deliver_every_event_once_in_order_and_commit_every_take() {
    let sent = events(37);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink::default();
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 37
    })
    .await;
    assert_eq!(sink.delivered(), sent);
    assert!(mem.is_empty());
    assert_eq!(counters.get("EventDrainSuccessCount"), 37);
    assert_eq!(
        sink.calls.lock().len(),
        10,
        "nine full batches and one of 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_events_are_counted_and_dead_lettered_and_their_batch_delivered_once() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let bad: BTreeSet<Vec<u8>> = [b"e005".to_vec(), b"e013".to_vec()].into();
    let sink = ScriptedSink {
        poison: bad.clone(),
        ..Default::default()
    };
    let (mut u, counters) = unit(&sink, mem.clone());
    let d = tempfile::tempdir().unwrap();
    u.poison = PoisonHandler::new("k1", Some(d.path().to_owned()));
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 18
    })
    .await;
    let good: Vec<Event> = sent
        .into_iter()
        .filter(|e| !bad.contains(&e.body[..]))
        .collect();
    assert_eq!(sink.delivered(), good, "every good event once, in order");
    assert_eq!(sink.calls.lock().len(), 5, "no batch was delivered twice");
    assert_eq!(counters.get("EventPoisonCount"), 2);
    assert_eq!(counters.get("EventDeadLetterCount"), 2);
    assert_eq!(counters.get("EventWriteFail"), 0);
    let dead = std::fs::read_to_string(d.path().join("k1.deadletter.jsonl")).unwrap();
    let bodies: Vec<&str> = dead
        .lines()
        .map(|l| &l[l.find("\"body\":").unwrap()..])
        .collect();
    assert_eq!(bodies.len(), 2, "{dead}");
    assert!(bodies[0].starts_with("\"body\":\"e005\""), "{dead}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_rolls_back_only_its_batch_which_comes_again_next() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        fail: BTreeSet::from([2]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    let calls = sink.calls.lock().clone();
    assert!(!calls[2].ok);
    assert_eq!(
        calls[3].events, calls[2].events,
        "the failed batch is the next one delivered"
    );
    // Batch 1 was delivered but not committed when batch 2 failed: it still committed, so
    // nothing is delivered twice.
    assert_eq!(sink.delivered(), sent);
    assert_eq!(counters.get("EventWriteFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    assert_eq!(counters.get("EventDrainAttemptCount"), 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_take_commit_returns_its_batch_which_is_delivered_again() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let ch = Arc::new(FailingCommits {
        inner: mem.clone(),
        fail: Arc::new(BTreeSet::from([1])),
        takes: Arc::default(),
    });
    let sink = ScriptedSink::default();
    let (u, counters) = unit(&sink, ch);
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    let delivered = sink.delivered();
    // Every event at least once, the first time in order; exactly batch 1 twice.
    let mut firsts = Vec::new();
    let mut seen = BTreeMap::<Vec<u8>, usize>::new();
    for e in &delivered {
        let n = seen.entry(e.body.to_vec()).or_default();
        if *n == 0 {
            firsts.push(e.clone());
        }
        *n += 1;
    }
    assert_eq!(firsts, sent);
    let twice: Vec<Event> = sent
        .iter()
        .filter(|e| seen[&e.body[..]] == 2)
        .cloned()
        .collect();
    assert_eq!(twice, sent[BATCH..2 * BATCH].to_vec());
    assert_eq!(delivered.len(), 20 + BATCH);
    assert!(mem.is_empty());
    assert_eq!(counters.get("ChannelReadFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    // The batch taken while batch 1's commit failed still committed: only batch 1 came twice.
    assert_eq!(seen[&sent[2 * BATCH].body[..]], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_but_back_off_commits_the_batch_then_pauses_the_runner() {
    let sent = events(8);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        back_off: BTreeSet::from([0]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 8
    })
    .await;
    let calls = sink.calls.lock().clone();
    assert_eq!(
        sink.delivered(),
        sent,
        "the backed-off batch was committed, not sent again"
    );
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].at.duration_since(calls[0].at) >= FAIL_BACKOFF_STEP,
        "the runner backed off before the next batch"
    );
    assert_eq!(counters.get("EventWriteFail"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_in_the_pipeline_commits_the_delivered_batches_and_keeps_the_rest() {
    let sent = events(40);
    let mem = memory_channel(sent.clone()).await;
    let (h, stop) = crate::agent::stop::channel();
    let sink = ScriptedSink {
        stop_at: Some((3, Arc::new(h))),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    tokio::time::timeout(
        Duration::from_secs(10),
        run("r".into(), units, SinkPolicy::Default("k1".into()), stop),
    )
    .await
    .expect("the runner stops");
    assert_eq!(sink.delivered(), sent[..4 * BATCH].to_vec());
    assert_eq!(counters.get("EventDrainSuccessCount"), 4 * BATCH as u64);
    assert_eq!(mem.len(), 40 - 4 * BATCH, "the rest stays in the channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_a_failing_delivery_commits_the_batch_before_and_rolls_this_one_back() {
    let sent = events(40);
    let mem = memory_channel(sent.clone()).await;
    let (h, stop) = crate::agent::stop::channel();
    let sink = ScriptedSink {
        stop_at: Some((3, Arc::new(h))),
        fail: BTreeSet::from([3]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    tokio::time::timeout(
        Duration::from_secs(10),
        run("r".into(), units, SinkPolicy::Default("k1".into()), stop),
    )
    .await
    .expect("the runner stops");
    assert_eq!(sink.delivered(), sent[..3 * BATCH].to_vec());
    assert_eq!(counters.get("EventDrainSuccessCount"), 3 * BATCH as u64);
    assert_eq!(mem.len(), 40 - 3 * BATCH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_moves_to_the_next_sink_after_the_delivered_batches_committed() {
    let sent = events(24);
    let mem = memory_channel(sent.clone()).await;
    let a = ScriptedSink {
        fail: BTreeSet::from([2]),
        ..Default::default()
    };
    let b = ScriptedSink::default();
    let (ua, ca) = unit(&a, mem.clone());
    let (ub, cb) = unit(&b, mem.clone());
    let units = BTreeMap::from([("a".to_owned(), ua), ("b".to_owned(), ub)]);
    let policy = SinkPolicy::Failover(FailoverPolicy::new(&FailoverConfig {
        sinks: vec![("a".into(), 10), ("b".into(), 5)],
        max_penalty_ms: 30_000,
    }));
    let (m, ca2, cb2) = (mem.clone(), ca.clone(), cb.clone());
    run_until(units, policy, move || {
        m.is_empty() && ca2.get("EventDrainSuccessCount") + cb2.get("EventDrainSuccessCount") == 24
    })
    .await;
    assert_eq!(a.delivered(), sent[..2 * BATCH].to_vec());
    assert_eq!(
        b.delivered(),
        sent[2 * BATCH..].to_vec(),
        "b goes on in order"
    );
    assert_eq!(ca.get("EventDrainSuccessCount"), 2 * BATCH as u64);
    assert_eq!(cb.get("EventDrainSuccessCount"), 24 - 2 * BATCH as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancing_commits_each_sinks_batch_before_the_other_sink_takes() {
    let sent = events(32);
    let mem = memory_channel(sent.clone()).await;
    let a = ScriptedSink::default();
    let (ua, ca) = unit(&a, mem.clone());
    let b = ScriptedSink {
        watch: Some(ca.clone()),
        ..Default::default()
    };
    let (ub, cb) = unit(&b, mem.clone());
    let units = BTreeMap::from([("a".to_owned(), ua), ("b".to_owned(), ub)]);
    let policy = SinkPolicy::LoadBalance(LoadBalancePolicy::new(&LoadBalanceConfig {
        sinks: vec!["a".into(), "b".into()],
        selection: Selection::RoundRobin,
        backoff: false,
        max_timeout_ms: 0,
    }));
    let (m, ca2, cb2) = (mem.clone(), ca.clone(), cb.clone());
    run_until(units, policy, move || {
        m.is_empty() && ca2.get("EventDrainSuccessCount") + cb2.get("EventDrainSuccessCount") == 32
    })
    .await;
    // Round robin: a, b, a, b ... each batch once, every event once.
    let mut all = Vec::new();
    let (ac, bc) = (a.calls.lock().clone(), b.calls.lock().clone());
    assert_eq!((ac.len(), bc.len()), (4, 4));
    for (x, y) in ac.iter().zip(&bc) {
        all.extend(x.events.clone());
        all.extend(y.events.clone());
    }
    assert_eq!(all, sent);
    for (i, call) in bc.iter().enumerate() {
        assert_eq!(
            call.watched,
            (BATCH * (i + 1)) as u64,
            "a's batch {i} committed before b's round"
        );
    }
    assert_eq!(ca.get("EventDrainSuccessCount"), 16);
    assert_eq!(cb.get("EventDrainSuccessCount"), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_acknowledgements_are_to_come_lets_the_next_go_out_and_commits_after_them() {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    let sink = ScriptedSink {
        acks_after: Some(Duration::from_millis(300)),
        watch: Some(counters.clone()),
        ..Default::default()
    };
    let (mut u, _) = unit(&sink, mem.clone());
    u.counters = counters.clone();
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    assert_eq!(sink.delivered(), sent, "every event once, in order");
    let watched: Vec<u64> = sink.calls.lock().iter().map(|c| c.watched).collect();
    // Batch 1 went out while batch 0 waited for its acknowledgements (300 ms); batch 2 once
    // batch 0 was acknowledged and committed, while batch 1 waited for its own.
    assert_eq!(watched, vec![0, 0, 4, 8, 12]);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    assert_eq!(counters.get("EventWriteFail"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_batch_rolls_back_with_the_later_pending_one_and_both_come_again_in_order(
) {
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        acks_after: Some(Duration::from_millis(100)),
        unacknowledged: BTreeSet::from([1]),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, mem.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    let calls = sink.calls.lock().clone();
    assert!(!calls[1].ok, "call 1 was not acknowledged");
    // Batch 2 went out while batch 1 waited; it was rolled back with batch 1, and the two
    // came again in their order.
    assert_eq!(calls[2].events, sent[2 * BATCH..3 * BATCH].to_vec());
    assert_eq!(calls[3].events, calls[1].events);
    assert_eq!(calls[4].events, calls[2].events);
    let committed: Vec<Event> = calls
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1 && *i != 2)
        .flat_map(|(_, c)| c.events.clone())
        .collect();
    assert_eq!(
        committed, sent,
        "apart from the rolled back calls, every event once"
    );
    assert_eq!(counters.get("EventWriteFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
    assert_eq!(counters.get("EventDrainAttemptCount"), 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_channel_with_one_taker_a_deep_pipeline_takes_the_next_batch_while_one_commits() {
    // A sink that keeps up to 4 takes open while their acknowledgements come (file_roll's
    // fsync) on a channel whose take holds its one taker until it ends (kafka): the runner
    // must commit the delivered batch before the next take can start, or it waits forever.
    let sent = events(20);
    let mem = memory_channel(sent.clone()).await;
    let ch = Arc::new(OneTaker {
        inner: mem.clone(),
        taker: Arc::default(),
    });
    let sink = ScriptedSink {
        acks_after: Some(Duration::from_millis(20)),
        depth: Some(4),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, ch);
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 20
    })
    .await;
    assert_eq!(sink.delivered(), sent, "every event once, in order");
    assert_eq!(counters.get("EventDrainSuccessCount"), 20);
}

#[test]
fn the_runner_treats_a_failure_by_its_kind() {
    let e = SinkError::connect("k1", "connection refused");
    assert_eq!(on_failure(&e), OnFailure::Retry);
    let e = SinkError::config("k1", "the truststore cannot be read");
    assert_eq!(on_failure(&e), OnFailure::NeedsChange);
    let e = SinkError::stopped("k1", "stopping: no answer within 2000 ms");
    assert_eq!(on_failure(&e), OnFailure::Stopping);
}
