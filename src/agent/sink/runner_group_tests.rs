//! The runner's group commits ([`super::super::settle`]) on the file channel: delivered
//! batches whose acknowledgements answered commit their takes together, one fdatasync for the
//! group, every event once and in order.

use std::collections::BTreeMap;
use std::time::Duration;

use super::tests::{events, run_until, unit};
use super::*;
use crate::agent::channel::file::open_for_test;
use crate::agent::sink::scripted::ScriptedSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_commit_their_takes_in_groups_with_fewer_fdatasyncs_than_batches() {
    let dir = tempfile::tempdir().unwrap();
    let ch = open_for_test(dir.path()).await;
    let sent = events(200);
    crate::agent::channel::put_batch(ch.as_ref(), sent.clone())
        .await
        .unwrap();
    let sink = ScriptedSink {
        acks_after: Some(Duration::from_millis(20)),
        depth: Some(4),
        ..Default::default()
    };
    let (u, counters) = unit(&sink, ch.clone());
    let before = ch.file_stats().unwrap().fsyncs;
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let c = counters.clone();
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        c.get("EventDrainSuccessCount") == 200
    })
    .await;
    let bodies =
        |v: Vec<sluice_core::Event>| v.into_iter().map(|e| e.body.clone()).collect::<Vec<_>>();
    assert_eq!(
        bodies(sink.delivered()),
        bodies(sent),
        "every event once, in order"
    );
    assert_eq!(ch.file_stats().unwrap().queued, 0);
    let batches = sink.calls.lock().len() as u64;
    let used = ch.file_stats().unwrap().fsyncs - before;
    // Three batches wait for their acknowledgements while the fourth is delivered: one
    // fdatasync per group of three, where one take at a time made one per batch.
    assert_eq!(batches, 50);
    assert!(
        used <= batches / 2,
        "{used} fdatasyncs for {batches} batches"
    );
}
