//! Batches whose acknowledgements are still to come: the next batch goes out meanwhile, each
//! take commits after its own acknowledgements, an unacknowledged batch rolls back with the
//! later pending ones; a channel with one taker still keeps a deep pipeline going.

use super::*;

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
