//! The runner under a sink group's policy: failover and load balancing switch sinks only
//! after the delivered batches of the last one committed.

use super::*;

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
