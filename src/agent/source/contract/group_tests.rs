//! [`SourceCtx::put_group_with_retry`]: batches that are already there go as one group commit
//! (one fdatasync into a file channel), and from a refused one on they are retried in order
//! until committed, each once; into a file channel, handed back by it rather than copied.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::tests::{ctx_for, wiring};
use super::*;
use crate::agent::channel::file::{open_configured_for_test, open_for_test};
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

/// Puts `group` (100 events) into a channel with room for 50, waits for the refusal, then
/// drains the channel while the source retries (Flume's backoff: 1 s, then 2 s) until all
/// 100 arrived and the put returned true; returns what was taken.
async fn refused_then_drained(
    mut ctx: SourceCtx,
    counters: &CounterGroup,
    ch: &Arc<dyn AgentChannel>,
    group: Vec<Vec<Event>>,
) -> Vec<Event> {
    let put = tokio::spawn(async move { ctx.put_group_with_retry(group).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counters.count(SourceCounter::ChannelWriteFail) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(counters.count(SourceCounter::EventAccepted), 50);
    let mut got = Vec::new();
    while got.len() < 100 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} arrived",
            got.len()
        );
        got.extend(take_all(ch, 25).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(tokio::time::timeout(Duration::from_secs(10), put)
        .await
        .unwrap()
        .unwrap());
    got
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
    let (ctx, counters, _h) = ctx(&ch);
    let got = refused_then_drained(ctx, &counters, &ch, batches()).await;
    let want: Vec<Event> = batches().concat();
    assert_eq!(bodies(&got), bodies(&want), "every event once, in order");
    assert_eq!(counters.count(SourceCounter::EventAccepted), 100);
    assert_eq!(counters.count(SourceCounter::AppendBatchReceived), 4);
}

/// Four batches of 25 events, each with a header of its own.
fn tagged() -> Vec<Vec<Event>> {
    batches()
        .into_iter()
        .map(|b| {
            b.into_iter()
                .map(|e| {
                    let tag = String::from_utf8_lossy(&e.body).into_owned();
                    e.header("tag", tag)
                })
                .collect()
        })
        .collect()
}

/// The bodies and the `tag` headers, in order.
fn tags(events: &[Event]) -> Vec<(bytes::Bytes, Option<String>)> {
    events
        .iter()
        .map(|e| (e.body.clone(), e.headers.get("tag").map(str::to_owned)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_refused_by_a_full_file_channel_is_handed_back_and_retried_intact_once() {
    // Room for two batches of 25: the third is refused at its put, the fourth cut with it;
    // both come back from the channel (no copy kept by the source) and are retried in order.
    let dir = tempfile::tempdir().unwrap();
    let ch = open_configured_for_test(dir.path(), |cfg| {
        cfg.capacity = 50;
        cfg.transaction_capacity = 25;
        cfg.keep_alive = Duration::ZERO;
    })
    .await;
    let (ctx, counters, _h) = ctx(&ch);
    let mut got = refused_then_drained(ctx, &counters, &ch, tagged()).await;
    got.extend(take_all(&ch, 25).await);
    assert_eq!(
        tags(&got),
        tags(&tagged().concat()),
        "every event once, in order, with its body and headers"
    );
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .filter_map(|e| e.headers.get(sluice_core::dedup::EVENT_ID_HEADER))
        .collect();
    assert_eq!(
        ids.len(),
        100,
        "each event committed under an id of its own"
    );
    assert_eq!(counters.count(SourceCounter::EventAccepted), 100);
    assert_eq!(counters.count(SourceCounter::AppendBatchAccepted), 4);
    assert_eq!(counters.count(SourceCounter::AppendBatchReceived), 4);
    assert_eq!(ch.file_stats().unwrap().queued, 0);
}
