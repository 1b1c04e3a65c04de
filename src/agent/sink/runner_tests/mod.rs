//! The pipelined runner against the memory channel and a scripted sink: which events are
//! committed, rolled back and delivered again when a delivery or a take commit fails, for
//! "commit but back off", for stop in the middle of the pipeline and for sink groups.
//! Here: the helpers and the plain pipelined rounds (poison events too); the rest by
//! behaviour beside: `failure.rs`, `stop.rs`, `policy.rs` (sink groups), `acks.rs`,
//! `baseline.rs` (the cursor committed before a sink's first take).

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
        SinkUnit::new(
            Box::new(sink.clone()),
            ch,
            BATCH,
            counters.clone(),
            crate::agent::sink::poison::PoisonHandler::new("k", None),
        ),
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

mod acks;
mod baseline;
mod failure;
mod policy;
mod stop;
