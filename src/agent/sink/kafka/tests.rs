//! Unit tests of the `kafka` sink's per-record choices and its configuration.

use super::placement::substitute;
use super::*;
use crate::agent::config::problem::Problem;
use crate::agent::topology::{load, AgentConfig};

/// The configuration, or every problem.
pub(crate) fn parse(text: &str, agent: &str) -> Result<AgentConfig, Vec<Problem>> {
    let l = load(text, agent, &[]);
    l.config.ok_or(l.problems)
}

/// Whether a problem's key or message mentions `what`.
fn mentions(problems: &[Problem], what: &str) -> bool {
    problems
        .iter()
        .any(|p| p.key.contains(what) || p.message.contains(what))
}

fn cfg(extra: &str) -> KafkaSinkConfig {
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k\n\
         a.sources.r.type = seq\na.sources.r.channels = c\n\
         a.channels.c.type = memory\n\
         a.sinks.k.type = kafka\na.sinks.k.channel = c\n\
         a.sinks.k.kafka.bootstrap.servers = 127.0.0.1:9092\n{extra}"
    );
    let c = parse(&text, "a").unwrap();
    match &c.sinks["k"].kind {
        crate::agent::registry::SinkKind::Kafka(k) => (**k).clone(),
        other => panic!("not a kafka sink: {other:?}"),
    }
}

#[test]
fn flume_defaults_apply_when_nothing_is_set() {
    let c = cfg("");
    assert_eq!(c.topic, "default-flume-topic");
    assert_eq!(c.batch_size, 100);
    assert_eq!(c.client.get("acks"), Some("1"));
    assert_eq!(c.client.get("bootstrap.servers"), Some("127.0.0.1:9092"));
    assert!(!c.use_flume_event_format);
    assert!(c.allow_topic_override);
    assert_eq!(c.topic_header, "topic");
    assert_eq!(c.default_partition_id, None);
}

#[test]
fn producer_keys_pass_through_and_java_names_are_translated() {
    let c = cfg("a.sinks.k.kafka.producer.acks = all\n\
                 a.sinks.k.kafka.producer.linger.ms = 7\n\
                 a.sinks.k.kafka.producer.security.protocol = SASL_PLAINTEXT\n\
                 a.sinks.k.kafka.producer.sasl.mechanism = PLAIN\n\
                 a.sinks.k.kafka.producer.max.request.size = 2000000\n");
    assert_eq!(c.client.get("acks"), Some("all"));
    assert_eq!(c.client.get("linger.ms"), Some("7"));
    assert_eq!(c.client.get("security.protocol"), Some("sasl_plaintext"));
    assert_eq!(c.client.get("sasl.mechanisms"), Some("PLAIN"));
    assert_eq!(c.client.get("message.max.bytes"), Some("2000000"));
}

#[test]
fn a_key_librdkafka_does_not_know_is_an_error_naming_it() {
    let text = "a.sources = r\na.channels = c\na.sinks = k\n\
         a.sources.r.type = seq\na.sources.r.channels = c\na.channels.c.type = memory\n\
         a.sinks.k.type = kafka\na.sinks.k.channel = c\n\
         a.sinks.k.kafka.bootstrap.servers = 127.0.0.1:9092\n\
         a.sinks.k.kafka.producer.no.such.key = 1\n";
    let err = parse(text, "a").unwrap_err();
    assert!(mentions(&err, "kafka.producer.no.such.key"), "{err:?}");
    let jks = text.replace("no.such.key = 1", "ssl.truststore.location = /x.jks");
    let err = parse(&jks, "a").unwrap_err();
    assert!(mentions(&err, "ssl.ca.location"), "{err:?}");
}

#[test]
fn the_topic_header_overrides_the_topic_unless_forbidden() {
    let c = cfg("a.sinks.k.kafka.topic = logs-%{dc}\n");
    let e = Event::new(b"x".to_vec()).header("dc", "eu");
    assert_eq!(placement(&c, &e).topic, "logs-eu");
    let e = e.header("topic", "other");
    assert_eq!(placement(&c, &e).topic, "other");
    let c = cfg("a.sinks.k.allowTopicOverride = false\na.sinks.k.kafka.topic = t\n");
    assert_eq!(placement(&c, &e).topic, "t");
}

#[test]
fn the_partition_comes_from_its_header_then_the_default() {
    let c = cfg(
        "a.sinks.k.defaultPartitionId = 2\na.sinks.k.partitionIdHeader = p\n\
                 a.sinks.k.timestampHeader = ts\n",
    );
    let e = Event::new(b"x".to_vec());
    assert_eq!(placement(&c, &e).partition, Some(2));
    let e = e.header("p", "5").header("ts", "1700000000000");
    let p = placement(&c, &e);
    assert_eq!(p.partition, Some(5));
    assert_eq!(p.timestamp_ms, Some(1_700_000_000_000));
    let bad = Event::new(b"x".to_vec()).header("p", "five");
    assert_eq!(
        placement(&c, &bad).partition,
        Some(2),
        "a bad header falls back"
    );
}

#[test]
fn escapes_without_a_closing_brace_are_kept_as_written() {
    let e = Event::new(Vec::new()).header("a", "1");
    assert_eq!(substitute("x-%{a}-%{b}-%{c", &e), "x-1--%{c");
}

#[tokio::test]
async fn a_record_over_message_max_bytes_is_poison_and_the_rest_of_the_batch_is_handed_over() {
    // No broker is needed: librdkafka checks the size when the record is produced.
    let mut sink = KafkaSink::new(
        "k",
        cfg("a.sinks.k.kafka.producer.max.request.size = 1000\n\
             a.sinks.k.kafka.bootstrap.servers = 127.0.0.1:1\n"),
    );
    let events = vec![
        Event::new("small"),
        Event::new(vec![b'x'; 5000]),
        Event::new("small too"),
    ];
    sink.deliver(&events).await.unwrap();
    let poisoned = sink.take_poisoned();
    assert_eq!(poisoned.len(), 1);
    assert_eq!(poisoned[0].event, events[1]);
    assert!(
        poisoned[0].reason.contains("message.max.bytes"),
        "{}",
        poisoned[0].reason
    );
    assert!(sink.take_acks().is_some(), "the two others are in flight");
    sink.stop();
}
