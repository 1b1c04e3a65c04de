//! Batches whose acknowledgements are still to come: the next batch goes out meanwhile, each
//! take commits after its own acknowledgements (also while a deep pipeline commits behind its
//! deliveries), an unacknowledged batch rolls back with the later pending ones; a channel
//! with one taker still keeps a deep pipeline going.

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
    // Batch 1 went out while batch 0 waited for its acknowledgements (300 ms). Later batches
    // go out while earlier groups commit behind them (how many had committed depends on when
    // the acknowledgements came: batch 2 saw 4 or 8), never after their own commit.
    assert_eq!(watched.len(), 5);
    assert_eq!(
        &watched[..2],
        &[0, 0],
        "batch 1 went out before batch 0 was acknowledged"
    );
    for (i, w) in watched.iter().enumerate() {
        assert!(
            *w <= 4 * i as u64,
            "batch {i} went out after its own commit: {watched:?}"
        );
    }
    assert!(watched.windows(2).all(|p| p[0] <= p[1]), "{watched:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_pipeline_delivers_while_a_group_commits_and_no_take_commits_before_its_acknowledgement(
) {
    // Eight batches may wait for their acknowledgements (file_roll's fsync, a downstream's
    // `OK`), which answer out of order of their sending times; each take commit takes 30 ms.
    let sent = events(100);
    let mem = memory_channel(sent.clone()).await;
    let sink = ScriptedSink {
        acks_after: Some(Duration::from_millis(1)),
        ack_delays: [7, 1, 15, 3, 1, 11, 2, 5]
            .map(Duration::from_millis)
            .to_vec(),
        depth: Some(9),
        ..Default::default()
    };
    let ch = Arc::new(AckChecked {
        inner: mem.clone(),
        commit_delay: Duration::from_millis(30),
        acked: sink.acked.clone(),
        overtaken: Arc::default(),
        beside: Arc::default(),
    });
    let (u, counters) = unit(&sink, ch.clone());
    let units = BTreeMap::from([("k1".to_owned(), u)]);
    let (m, c) = (mem.clone(), counters.clone());
    run_until(units, SinkPolicy::Default("k1".into()), move || {
        m.is_empty() && c.get("EventDrainSuccessCount") == 100
    })
    .await;
    assert_eq!(sink.delivered(), sent, "every event once, in order");
    assert_eq!(counters.get("EventDrainSuccessCount"), 100);
    assert_eq!(
        ch.overtaken.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a take committed before its batch was acknowledged"
    );
    // Batches went on being taken and delivered while a group committed (one commit per
    // batch delivered meanwhile would keep the sink's downstream idle during each commit).
    let beside = ch.beside.lock().1;
    assert!(
        beside >= 2,
        "at most {beside} take(s) began during one commit"
    );
}
