//! Stop in the middle of the pipeline: the delivered batches commit, the batch in progress
//! finishes or rolls back, and the rest stays in the channel.

use super::*;

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
