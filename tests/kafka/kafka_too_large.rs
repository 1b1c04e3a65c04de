//! A record the producer or the broker refuses as too large is a poison event (issue 87):
//! dead-lettered, named, and the records after it are produced; never an endless retry.

use crate::support::kafka_support;

use std::time::{Duration, Instant};

use kafka_support::*;

#[test]
fn a_record_over_message_max_bytes_is_dead_lettered_and_later_records_are_produced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let topic = unique("big");
    b.create_topic(&topic, 1);
    let port = crate::support::ports::free_port();
    let mut conf = edge_conf(root, &b, port, &topic);
    conf.push_str(&format!(
        "edge.sources.r1.max-line-length = 4194304\n\
         edge.sinks.k1.kafka.producer.max.request.size = 1048576\n\
         edge.sinks.k1.deadLetter.directory = {}/dl\n",
        root.display()
    ));
    let agent = Agent::start(root, "edge", &conf, Some(port));
    let big = "x".repeat(2 << 20);
    assert_eq!(
        crate::support::lines_support::netcat_send(port, &[big]),
        1,
        "the 2 MiB line is acknowledged"
    );
    let later: Vec<String> = (0..300).map(|i| format!("line-{i:04}")).collect();
    assert_eq!(
        crate::support::lines_support::netcat_send(port, &later),
        300
    );
    let end = Instant::now() + Duration::from_secs(60);
    let dead = root.join("dl").join("k1.deadletter.jsonl");
    loop {
        let got = b.read_topic(&topic, Duration::from_secs(2));
        let text = std::fs::read_to_string(&dead).unwrap_or_default();
        if got.len() >= later.len() && text.lines().count() == 1 {
            let values: Vec<String> = got
                .iter()
                .map(|(_, _, v)| String::from_utf8_lossy(v).into_owned())
                .collect();
            assert_eq!(values, later, "every later line once, in order");
            assert!(text.contains("message.max.bytes"), "{text:.300}");
            break;
        }
        assert!(
            Instant::now() < end,
            "{} of {} records, dead letter {:.300}\n{}",
            got.len(),
            later.len(),
            text,
            agent.proc.log_text()
        );
    }
    assert_eq!(agent.counter("SINK.k1", "EventDeadLetterCount"), 1);
}
