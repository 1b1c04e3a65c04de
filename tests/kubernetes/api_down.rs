//! The API server down for a while, then back (the test API server stopped on its port and
//! restarted with its pods, as a restarted kube-apiserver answers from etcd): meanwhile a
//! known pod's lines keep its metadata, a pod that came during the outage is read at once
//! with its path's metadata, each such event counted, `/health` names the server; once it
//! answers, the watch resumes from its resourceVersion (no new list) and the new pod's lines
//! carry its metadata. Seconds here; the minute with `SLUICE_LONG=1`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::{assert_labelled, events, h, metric, plain, setup, start, wait_until, write};
use crate::node::{message, Container, Format};
use crate::output::written;
use crate::support::long_runs::long_runs;
use crate::support::nats_support::health;

/// How long the API server stays down.
fn down_for() -> Duration {
    Duration::from_secs(if long_runs() { 60 } else { 4 })
}

#[test]
fn while_the_api_server_is_down_lines_flow_counted_and_its_metadata_comes_back_after() {
    let (tmp, pods, mut server) = setup();
    let root = tmp.path();
    let mut known = Container::new(&pods, "default", "known", "main", Format::Cri);
    server.put(plain(&known, json!({"app": "known"})));
    let mut agent = start(root, &server.keys());
    assert_labelled(root, &mut known, "known", &agent);
    let lists_before = lists(&server.requests());
    server.stop();
    let addr = format!("127.0.0.1:{}", server.port);
    wait_until("/health naming the API server down", &agent, || {
        let (code, body) = health(agent.http);
        code == 200 && body.contains("degraded") && body.contains(&addr)
    });
    // A pod comes while the API server is down: read at once, with its path's metadata.
    let mut new = Container::new(&pods, "default", "newcomer", "main", Format::Json);
    let start_down = Instant::now();
    let mut n = 0;
    while start_down.elapsed() < down_for() {
        for i in 0..5 {
            known.write(&message(&format!("known-down-m{n}-{i}"), 80), "stdout");
            new.write(&message(&format!("new-down-m{n}-{i}"), 80), "stderr");
        }
        n += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    for g in events(root, "new-down-", 5 * n, &agent) {
        assert_eq!(h(&g, "k8s.pod.name"), Some("newcomer"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.uid"), Some(new.uid.as_str()), "{g:?}");
        assert_eq!(h(&g, "k8s.node.name"), None, "{g:?}");
    }
    for g in events(root, "known-down-", 5 * n, &agent) {
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("known"), "{g:?}");
    }
    assert_eq!(
        metric(&agent, "EventsWithoutApiMetadataCount"),
        5 * n as u64,
        "the events that went without the API's metadata, counted"
    );
    // The pod is made known while the server is down; it answers again.
    server.put(plain(&new, json!({"app": "newcomer"})));
    server.restart();
    wait_until("/health without the API server", &agent, || {
        let (code, body) = health(agent.http);
        code == 200 && !body.contains(&addr)
    });
    wait_until("both pods known again", &agent, || {
        metric(&agent, "PodsWithMetadata") == 2
    });
    assert_labelled(root, &mut new, "newcomer", &agent);
    write(&mut known, "known-after", 20);
    for g in events(root, "known-after-m", 20, &agent) {
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("known"), "{g:?}");
    }
    let without = written(root)
        .iter()
        .filter(|g| h(g, "k8s.node.name").is_none())
        .count() as u64;
    assert_eq!(without, 5 * n as u64);
    assert_eq!(metric(&agent, "EventsWithoutApiMetadataCount"), without);
    let reqs = server.requests();
    assert_eq!(
        lists(&reqs),
        lists_before,
        "the watch resumed from its resourceVersion, without a new list: {reqs:?}"
    );
    agent.terminate();
    eprintln!(
        "API down {:?}: {} lines without its metadata, counted; back after",
        down_for(),
        5 * n
    );
}

/// The lists among `requests`.
fn lists(requests: &[String]) -> usize {
    requests
        .iter()
        .filter(|r| !r.contains("watch=1") && r.ends_with("-> 200"))
        .count()
}
