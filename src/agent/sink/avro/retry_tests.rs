//! The avro sink under the runner: a refused batch is retried until the downstream accepts
//! it, and stop abandons a call the downstream never answers, keeping its batch.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_retries_a_refused_batch_until_the_downstream_accepts_it() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Failed]);
    let sent = events(6);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    // One call at a time (Flume's sink): nothing after the refused batch was sent.
    let cfg = AvroSinkConfig {
        calls_in_flight: 1,
        ..sink_config(port)
    };
    run_until_drained(
        ch.clone(),
        cfg,
        counters.clone(),
        6,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(*fake.accepted.lock(), sent);
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventWriteFail"), 1);
    assert_eq!(counters.get("EventDrainSuccessCount"), 6);
    assert_eq!(counters.get("EventDrainAttemptCount"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_abandons_a_call_the_downstream_never_answers_and_keeps_the_batch() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Silent]);
    let ch = memory_channel(events(3)).await;
    let mut cfg = sink_config(port);
    cfg.timings.request_timeout = Duration::from_secs(600);
    let mut units = std::collections::BTreeMap::new();
    units.insert(
        "k1".to_owned(),
        SinkUnit::new(
            Box::new(AvroSink::new("k1", cfg)),
            ch.clone(),
            4,
            CounterGroup::sink(),
            crate::agent::sink::poison::PoisonHandler::new("k1", None),
        ),
    );
    let (h, stop) = crate::agent::stop::channel();
    let task = tokio::spawn(runner::run(
        "k1".into(),
        units,
        SinkPolicy::Default("k1".into()),
        stop,
    ));
    for _ in 0..500 {
        if fake.calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    h.stop();
    tokio::time::timeout(STOP_GRACE + Duration::from_secs(5), task)
        .await
        .expect("stop is bounded by the grace period")
        .unwrap();
    assert_eq!(ch.len(), 3, "the unanswered batch went back to the channel");
    assert!(fake.accepted.lock().is_empty());
}
