//! The `http` sink against real local HTTP servers that the test starts on 127.0.0.1: one
//! that answers 200 and records what it got, one that answers 503 (rolled back by default,
//! committed with `rollback.5XX = false`, then backed off), and one that never answers
//! (requestTimeout). A 400 or 413 that no rule names is a poison event.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::time::Instant;

use sluice::agent::channel::memory::MemoryChannel;
use sluice::agent::channel::memory::MemoryConfig;
use sluice::agent::channel::put_batch;
use sluice::agent::metrics::CounterGroup;
use sluice::agent::processor::SinkPolicy;
use sluice::agent::sink::http::{HttpConfig, HttpSink};
use sluice::agent::sink::runner::{self, SinkUnit};
use sluice::agent::sink::Delivery;
use sluice_core::Event;

/// What the server received: (content-type, accept, body) per request.
type Seen = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// Starts a server whose answer to request `n` is `answer(n)`: a status, or `None` to hold
/// the connection without answering for 3 s.
fn server(answer: fn(usize) -> Option<u16>) -> (String, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", l.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for (conn, stream) in l.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let seen = seen2.clone();
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                for _ in 0..100 {
                    let mut headers = BTreeMap::new();
                    let mut first = String::new();
                    if r.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let n = {
                        let mut s = seen.lock().unwrap();
                        s.push((
                            headers.get("content-type").cloned().unwrap_or_default(),
                            headers.get("accept").cloned().unwrap_or_default(),
                            body,
                        ));
                        s.len() - 1
                    };
                    let _ = conn;
                    match answer(n) {
                        Some(code) => {
                            let text = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\n\r\nok");
                            if w.write_all(text.as_bytes()).is_err() {
                                return;
                            }
                        }
                        None => {
                            std::thread::sleep(Duration::from_secs(3));
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, seen)
}

fn cfg(endpoint: &str, rules: &[(&str, &str, bool)]) -> HttpConfig {
    HttpConfig {
        endpoint: endpoint.to_owned(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        content_type: "application/json".into(),
        accept: "text/plain".into(),
        default_backoff: true,
        default_rollback: true,
        default_increment_metrics: false,
        rules: rules
            .iter()
            .map(|(k, c, v)| ((k.to_string(), c.to_string()), *v))
            .collect(),
    }
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| Event::new(format!("{{\"n\":{i}}}")))
        .collect()
}

#[tokio::test]
async fn each_event_is_posted_with_the_configured_headers() {
    let (url, seen) = server(|_| Some(200));
    let mut sink = HttpSink::new("k1", cfg(&url, &[]));
    sink.deliver(&events(5)).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5);
    for (i, (ct, accept, body)) in seen.iter().enumerate() {
        assert_eq!(
            (ct.as_str(), accept.as_str()),
            ("application/json", "text/plain")
        );
        assert_eq!(body, format!("{{\"n\":{i}}}").as_bytes());
    }
}

#[tokio::test]
async fn a_503_rolls_back_by_default_and_commits_when_a_rule_says_so() {
    let (url, seen) = server(|_| Some(503));
    let mut sink = HttpSink::new("k1", cfg(&url, &[]));
    let e = sink.deliver(&events(1)).await.unwrap_err();
    assert!(e.to_string().contains("503"), "{e}");
    let mut sink = HttpSink::new("k1", cfg(&url, &[("rollback", "5XX", false)]));
    assert_eq!(
        sink.deliver(&events(1)).await.unwrap(),
        Delivery::CommitAndBackOff,
        "defaultBackoff still applies"
    );
    let mut sink = HttpSink::new(
        "k1",
        cfg(
            &url,
            &[("rollback", "5XX", false), ("backoff", "503", false)],
        ),
    );
    assert_eq!(sink.deliver(&events(1)).await.unwrap(), Delivery::Done);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_400_or_413_is_a_poison_event_and_the_rest_of_the_batch_is_posted_once() {
    let (url, seen) = server(|n| Some([200, 400, 200, 413, 200][n % 5]));
    let mut sink = HttpSink::new("k1", cfg(&url, &[]));
    let sent = events(5);
    assert_eq!(sink.deliver(&sent).await.unwrap(), Delivery::Done);
    let poisoned = sink.take_poisoned();
    let bodies: Vec<&Event> = poisoned.iter().map(|p| &p.event).collect();
    assert_eq!(bodies, [&sent[1], &sent[3]]);
    assert!(poisoned[0].reason.contains("400"), "{}", poisoned[0].reason);
    assert_eq!(seen.lock().unwrap().len(), 5, "each event posted once");
    // A rule naming the code keeps Flume's rollback.
    let mut sink = HttpSink::new("k1", cfg(&url, &[("rollback", "400", true)]));
    assert!(sink.deliver(&events(2)).await.is_err());
    assert!(sink.take_poisoned().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_commits_a_503_without_rollback_then_backs_off_before_the_next_event() {
    let (url, seen) = server(|_| Some(503));
    let ch = Arc::new(MemoryChannel::new(
        "c1",
        MemoryConfig::sized(100, 10, Duration::from_secs(1)),
    ));
    let sent = events(2);
    put_batch(ch.as_ref(), sent.clone()).await.unwrap();
    let counters = CounterGroup::sink();
    let sink = HttpSink::new("k1", cfg(&url, &[("rollback", "503", false)]));
    let units = BTreeMap::from([(
        "k1".to_owned(),
        SinkUnit::new(
            Box::new(sink),
            ch.clone(),
            1,
            counters.clone(),
            sluice::agent::sink::poison::PoisonHandler::new("k1", None),
        ),
    )]);
    let (h, stop) = sluice::agent::stop::channel();
    let start = Instant::now();
    let task = tokio::spawn(runner::run(
        "k1".into(),
        units,
        SinkPolicy::Default("k1".into()),
        stop,
    ));
    let mut second_at = None;
    for _ in 0..1000 {
        if seen.lock().unwrap().len() >= 2 && second_at.is_none() {
            second_at = Some(start.elapsed());
        }
        if second_at.is_some() && counters.get("EventDrainSuccessCount") == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.stop();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the runner stops")
        .unwrap();
    let bodies: Vec<Vec<u8>> = seen.lock().unwrap().iter().map(|s| s.2.clone()).collect();
    let sent_bodies: Vec<Vec<u8>> = sent.iter().map(|e| e.body.to_vec()).collect();
    assert_eq!(
        bodies, sent_bodies,
        "each event posted once: committed, not rolled back"
    );
    assert!(ch.is_empty());
    assert_eq!(counters.get("EventDrainSuccessCount"), 2);
    assert_eq!(counters.get("EventWriteFail"), 0);
    assert!(
        second_at.is_some_and(|t| t >= runner::FAIL_BACKOFF_STEP),
        "the runner backed off after the first answer: {second_at:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_fails_the_batch_within_request_timeout() {
    let (url, seen) = server(|n| if n == 0 { None } else { Some(200) });
    let mut sink = HttpSink::new("k1", cfg(&url, &[]));
    let e = sink.deliver(&events(1)).await.unwrap_err();
    assert!(e.to_string().contains("requestTimeout"), "{e}");
    // The retried event goes through on a new connection.
    sink.deliver(&events(1)).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_fails_the_batch() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sink = HttpSink::new("k1", cfg(&format!("http://127.0.0.1:{port}/"), &[]));
    assert!(sink.deliver(&events(1)).await.is_err());
}
