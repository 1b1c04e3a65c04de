//! The avro sink with several calls in flight (`max-calls-in-flight`): calls go out before
//! the first is answered, each take commits only after its own `OK`, and a refused call rolls
//! back its batch and every later one (sent again: at least once).

use super::*;

/// A source that answers the handshake, then answers nothing until `hold` calls arrived,
/// then all of them `OK` in order (and every later call at once). A sink with one call in
/// flight would wait for an answer that never comes.
fn serve_holding(l: TcpListener, hold: usize) -> Arc<Mutex<Vec<Event>>> {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let acc = accepted.clone();
    tokio::spawn(async move {
        let Ok((mut s, _)) = l.accept().await else {
            return;
        };
        let mut conn = ServerConn::new(CallLimits::default());
        let mut known = KnownClients::default();
        let mut reader = FrameReader::new(FrameLimits::default());
        let mut held = Vec::new();
        loop {
            while let Ok(Some(f)) = reader.next_frame() {
                let mut out = Vec::new();
                match conn.on_request(&f.payload, &mut known) {
                    Ok(Action::Reply(b)) => encode_frame(f.serial, &b, &mut out),
                    Ok(Action::Put {
                        events, handshake, ..
                    }) => {
                        held.push((f.serial, events, handshake));
                        if held.len() < hold {
                            continue;
                        }
                        for (serial, events, handshake) in held.drain(..) {
                            acc.lock().extend(events);
                            let reply = ServerConn::status_reply(handshake, Status::Ok);
                            encode_frame(serial, &reply, &mut out);
                        }
                    }
                    _ => return,
                }
                if s.write_all(&out).await.is_err() {
                    return;
                }
            }
            match s.read_buf(reader.read_buffer(4096)).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_out_before_the_first_is_answered_and_every_take_commits_in_order() {
    let (l, port) = listener().await;
    let accepted = serve_holding(l, 3);
    let sent = events(12);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    let cfg = AvroSinkConfig {
        calls_in_flight: 3,
        ..sink_config(port)
    };
    run_until_drained(
        ch.clone(),
        cfg,
        counters.clone(),
        12,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(*accepted.lock(), sent, "3 calls were in flight at once");
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventDrainSuccessCount"), 12);
    assert_eq!(counters.get("EventWriteFail"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_in_flight_waits_for_each_answer() {
    let (l, port) = listener().await;
    let accepted = serve_holding(l, 3);
    let ch = memory_channel(events(12)).await;
    let counters = CounterGroup::sink();
    let mut cfg = AvroSinkConfig {
        calls_in_flight: 1,
        ..sink_config(port)
    };
    cfg.timings.request_timeout = Duration::from_millis(300);
    run_until_drained(
        ch.clone(),
        cfg,
        counters.clone(),
        12,
        Duration::from_millis(1500),
    )
    .await;
    // The holding source never answers a lone call: nothing is committed.
    assert!(accepted.lock().is_empty());
    assert_eq!(ch.len(), 12);
    assert_eq!(counters.get("EventDrainSuccessCount"), 0);
    assert!(counters.get("EventWriteFail") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_rolls_back_its_batch_and_the_later_ones_nothing_is_lost() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Failed]);
    let sent = events(12);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    run_until_drained(
        ch.clone(),
        sink_config(port),
        counters.clone(),
        12,
        Duration::from_secs(10),
    )
    .await;
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventDrainSuccessCount"), 12);
    assert!(counters.get("EventWriteFail") >= 1);
    let accepted = fake.accepted.lock().clone();
    for e in &sent {
        assert!(accepted.contains(e), "{e:?} delivered at least once");
    }
    // The refused batch came again whole, in its order.
    let first = accepted.iter().position(|e| e == &sent[0]).unwrap();
    assert_eq!(&accepted[first..first + 4], &sent[..4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_between_batches_lets_the_calls_in_flight_commit_none_is_sent_twice() {
    let (l, port) = listener().await;
    let fake = Fake::default();
    fake.serve(l, vec![Answer::Slow; 1000]);
    let sent = events(96);
    let ch = memory_channel(sent.clone()).await;
    let counters = CounterGroup::sink();
    let mut cfg = AvroSinkConfig {
        calls_in_flight: 4,
        ..sink_config(port)
    };
    // Every 40 ms, with each answer 15 ms away and 4 calls in flight: the reset always
    // comes while calls wait.
    cfg.timings.reset_connection_interval = Some(Duration::from_millis(40));
    run_until_drained(
        ch.clone(),
        cfg,
        counters.clone(),
        96,
        Duration::from_secs(30),
    )
    .await;
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventDrainSuccessCount"), 96);
    assert!(
        counters.get("ConnectionClosedCount") >= 2,
        "the connection was reset"
    );
    let accepted = fake.accepted.lock().clone();
    assert_eq!(
        accepted.len(),
        sent.len(),
        "each event reached the source once (a reset sent none again)"
    );
    assert_eq!(counters.get("EventWriteFail"), 0);
}
