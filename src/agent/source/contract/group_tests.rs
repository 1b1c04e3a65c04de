//! [`SourceCtx::put_group_with_retry`]: batches that are already there go as one group commit
//! (one fdatasync into a file channel), and from a refused one on they are retried in order
//! until committed, each once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::tests::{ctx_for, wiring};
use super::*;
use crate::agent::channel::file::open_for_test;
use crate::agent::channel::instrumented::Instrumented;
use crate::agent::channel::memory::{MemoryChannel, MemoryConfig};
use crate::agent::channel::AgentChannel;
use crate::agent::metrics::SourceCounter;
use sluice_core::Event;

fn batches() -> Vec<Vec<Event>> {
    (0..4)
        .map(|g| (0..25).map(|i| Event::new(format!("{g}-{i:02}"))).collect())
        .collect()
}

fn bodies(events: &[Event]) -> Vec<bytes::Bytes> {
    events.iter().map(|e| e.body.clone()).collect()
}

fn ctx(
    ch: &Arc<dyn AgentChannel>,
) -> (SourceCtx, Arc<CounterGroup>, crate::agent::stop::StopHandle) {
    let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
    ctx_for(Arc::new(
        ChannelProcessor::new(&wiring(Vec::new()), &chans).unwrap(),
    ))
}

async fn take_all(ch: &Arc<dyn AgentChannel>, each: usize) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        let mut tx = ch.begin();
        let got = tx.take_up_to(each).await.unwrap();
        tx.commit().await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_batches_go_into_a_file_channel_with_one_fdatasync() {
    let dir = tempfile::tempdir().unwrap();
    let ch = open_for_test(dir.path()).await;
    let (mut ctx, counters, _h) = ctx(&ch);
    let before = ch.file_stats().unwrap().fsyncs;
    assert!(ctx.put_group_with_retry(batches()).await);
    assert_eq!(ch.file_stats().unwrap().fsyncs - before, 1);
    assert_eq!(counters.count(SourceCounter::EventAccepted), 100);
    assert_eq!(counters.count(SourceCounter::AppendBatchAccepted), 4);
    let want: Vec<Event> = batches().concat();
    assert_eq!(bodies(&take_all(&ch, 1000).await), bodies(&want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_refused_batch_on_the_group_is_retried_in_order_until_committed_once() {
    // Room for two batches of 25: the third is refused, the fourth cut with it.
    let cfg = MemoryConfig::sized(50, 25, Duration::ZERO);
    let ch: Arc<dyn AgentChannel> =
        Arc::new(Instrumented::new(Arc::new(MemoryChannel::new("c1", cfg))));
    let (mut ctx, counters, _h) = ctx(&ch);
    let put = tokio::spawn(async move { ctx.put_group_with_retry(batches()).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counters.count(SourceCounter::ChannelWriteFail) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counters.count(SourceCounter::EventAccepted), 50);
    // Drain while the source retries (Flume's backoff: 1 s, then 2 s).
    let mut got = Vec::new();
    while got.len() < 100 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} arrived",
            got.len()
        );
        got.extend(take_all(&ch, 25).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .unwrap()
        .unwrap());
    let want: Vec<Event> = batches().concat();
    assert_eq!(bodies(&got), bodies(&want), "every event once, in order");
    assert_eq!(counters.count(SourceCounter::EventAccepted), 100);
    assert_eq!(counters.count(SourceCounter::AppendBatchReceived), 4);
}
