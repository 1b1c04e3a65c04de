//! Unit tests of the `nats` sink's and source's configuration.

use crate::agent::config::problem::Problem;
use crate::agent::nats::conn::Auth;
use crate::agent::registry::{SinkKind, SourceKind};
use crate::agent::topology::load;

const BASE: &str = "a.sources = r\na.channels = c\na.sinks = k\n\
    a.sources.r.type = seq\na.sources.r.channels = c\na.channels.c.type = memory\n\
    a.channels.c.capacity = 1000\na.channels.c.transactionCapacity = 1000\n\
    a.sinks.k.type = nats\na.sinks.k.channel = c\n";

fn sink(extra: &str) -> Result<super::NatsSinkConfig, Vec<Problem>> {
    let l = load(&format!("{BASE}{extra}"), "a", &[]);
    let c = l.config.ok_or(l.problems)?;
    match &c.sinks["k"].kind {
        SinkKind::Nats(k) => Ok((**k).clone()),
        other => panic!("not a nats sink: {other:?}"),
    }
}

fn mentions(problems: &[Problem], what: &str) -> bool {
    problems
        .iter()
        .any(|p| p.key.contains(what) || p.message.contains(what))
}

#[test]
fn the_defaults_are_exactly_once_in_batches_of_100_with_records_named_after_the_stream() {
    let c = sink("a.sinks.k.url = nats://h1:4222, nats://h2:4222\na.sinks.k.subject = logs.%{svc}\na.sinks.k.stream = LOGS\n").unwrap();
    assert!(c.exactly_once);
    assert_eq!(c.batch_size, 100);
    assert_eq!(c.progress_subject, "sluice.progress.LOGS");
    assert_eq!(c.conn.servers, vec!["nats://h1:4222", "nats://h2:4222"]);
    assert_eq!(c.conn.auth, Auth::None);
}

#[test]
fn exactly_once_without_a_stream_is_refused_naming_the_way_out() {
    let p = sink("a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs.a\n").unwrap_err();
    assert!(mentions(&p, "exactlyOnce = false"), "{p:?}");
    let c = sink("a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs.a\na.sinks.k.exactlyOnce = false\n");
    assert!(c.is_ok());
}

#[test]
fn a_batch_over_half_an_atomic_batch_is_refused_with_exactly_once() {
    let base = "a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs.a\na.sinks.k.stream = S\n";
    assert!(sink(&format!("{base}a.sinks.k.batchSize = 500\n")).is_ok());
    let p = sink(&format!("{base}a.sinks.k.batchSize = 501\n")).unwrap_err();
    assert!(mentions(&p, "batchSize"), "{p:?}");
}

#[test]
fn bad_urls_subjects_and_mixed_credentials_are_refused_by_key() {
    let p =
        sink("a.sinks.k.url = http://h:80 x\na.sinks.k.subject = logs.a\na.sinks.k.stream = S\n")
            .unwrap_err();
    assert!(mentions(&p, "url"), "{p:?}");
    let p =
        sink("a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs..a\na.sinks.k.stream = S\n")
            .unwrap_err();
    assert!(mentions(&p, "subject"), "{p:?}");
    let p = sink("a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs.a\na.sinks.k.stream = S\na.sinks.k.user = u\na.sinks.k.password = p\na.sinks.k.token = t\n").unwrap_err();
    assert!(mentions(&p, "not several"), "{p:?}");
    let p = sink("a.sinks.k.url = nats://h:4222\na.sinks.k.subject = logs.a\na.sinks.k.stream = S\na.sinks.k.user = u\n").unwrap_err();
    assert!(mentions(&p, "password"), "{p:?}");
}

#[test]
fn the_source_needs_a_stream_and_a_consumer_and_takes_the_sinks_connection_keys() {
    let text = "a.sources = r\na.channels = c\na.sinks = k\n\
        a.sources.r.type = nats\na.sources.r.channels = c\na.sources.r.url = nats://h:4222\n\
        a.sources.r.stream = S\na.sources.r.consumer = coll\na.sources.r.token = secret\n\
        a.channels.c.type = memory\na.sinks.k.type = null\na.sinks.k.channel = c\n";
    let l = load(text, "a", &[]);
    let c = l.config.unwrap_or_else(|| panic!("{:?}", l.problems));
    let SourceKind::Nats(s) = &c.sources["r"].kind else {
        panic!("not a nats source")
    };
    assert_eq!(
        (s.stream.as_str(), s.consumer.as_str(), s.batch_size),
        ("S", "coll", 100)
    );
    assert!(matches!(s.conn.auth, Auth::Token(_)));
    let l = load(&text.replace("a.sources.r.consumer = coll\n", ""), "a", &[]);
    assert!(mentions(&l.problems, "consumer"), "{:?}", l.problems);
}

#[test]
fn the_source_acknowledges_explicitly_unless_ack_policy_says_all() {
    use async_nats::jetstream::consumer::AckPolicy;
    let text = "a.sources = r\na.channels = c\na.sinks = k\n\
        a.sources.r.type = nats\na.sources.r.channels = c\na.sources.r.url = nats://h:4222\n\
        a.sources.r.stream = S\na.sources.r.consumer = coll\n\
        a.channels.c.type = memory\na.sinks.k.type = null\na.sinks.k.channel = c\n";
    let policy = |extra: &str| {
        let l = load(&format!("{text}{extra}"), "a", &[]);
        match l.config.as_ref().map(|c| &c.sources["r"].kind) {
            Some(SourceKind::Nats(s)) => Ok(s.ack_policy),
            _ => Err(l.problems),
        }
    };
    assert_eq!(policy(""), Ok(AckPolicy::Explicit));
    assert_eq!(policy("a.sources.r.ackPolicy = All\n"), Ok(AckPolicy::All));
    let p = policy("a.sources.r.ackPolicy = none\n").unwrap_err();
    assert!(mentions(&p, "ackPolicy"), "{p:?}");
}
