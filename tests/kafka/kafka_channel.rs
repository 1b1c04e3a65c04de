//! The `kafka` channel against a real broker: put and take transactions, a rollback that
//! delivers the same events again, records that are not Flume events, and an agent killed
//! with kill -9 and restarted with nothing lost.

use crate::support::kafka_support;

use std::sync::Arc;
use std::time::Instant;

use kafka_support::*;
use sluice::agent::channel::AgentChannel;
use sluice::agent::registry::ChannelKind;
use sluice::agent::topology::load;
use sluice_core::Event;

fn channel_kind(b: &Broker, topic: &str, group: &str) -> ChannelKind {
    let text = format!(
        "a.sinks = k\na.sinks.k.type = null\na.sinks.k.channel = c\n\
         a.channels = c\na.channels.c.type = kafka\n\
         a.channels.c.kafka.bootstrap.servers = {}\na.channels.c.kafka.topic = {topic}\n\
         a.channels.c.kafka.consumer.group.id = {group}\n\
         a.channels.c.kafka.consumer.auto.offset.reset = earliest\n\
         a.channels.c.pollTimeout = 300\n",
        b.bootstrap
    );
    let l = load(&text, "a", &[]);
    let cfg = l.config.unwrap_or_else(|| panic!("{:?}", l.problems));
    cfg.channels["c"].kind.clone()
}

/// Takes in one transaction until `n` events came (bounded), then hands the transaction back.
async fn take_n(
    ch: &Arc<dyn AgentChannel>,
    n: usize,
) -> (Box<dyn sluice::agent::channel::ChannelTx>, Vec<Event>) {
    let mut tx = ch.begin();
    let mut got = Vec::new();
    let end = Instant::now() + WAIT;
    while got.len() < n && Instant::now() < end {
        got.extend(tx.take_up_to(n - got.len()).await.unwrap());
    }
    (tx, got)
}

fn bodies(es: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = es
        .iter()
        .map(|e| String::from_utf8(e.body.to_vec()).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn puts_are_taken_with_headers_a_rollback_delivers_them_again_and_a_commit_is_final() {
    let tmp = tempfile::tempdir().unwrap();
    let b = Broker::start(tmp.path());
    let topic = unique("chan");
    b.create_topic(&topic, 2);
    let kind = channel_kind(&b, &topic, &unique("g"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ch = kind.open("c").await.unwrap();
        let events: Vec<Event> = (0..20)
            .map(|i| Event::new(format!("e{i:02}").into_bytes()).header("h", i.to_string()))
            .collect();
        let mut tx = ch.begin();
        tx.put_all(events.clone()).await.unwrap();
        tx.commit().await.unwrap();
        let (tx, got) = take_n(&ch, 20).await;
        assert_eq!(bodies(&got), bodies(&events));
        assert!(
            got.iter().all(|e| e.headers.contains_key("h")),
            "parseAsFlumeEvent keeps headers"
        );
        tx.rollback().await;
        let (tx, again) = take_n(&ch, 20).await;
        assert_eq!(
            bodies(&again),
            bodies(&events),
            "a rollback delivers them again"
        );
        tx.commit().await.unwrap();
        let mut tx = ch.begin();
        let rest = tx.take_up_to(20).await.unwrap();
        assert!(
            rest.is_empty(),
            "committed takes are final: {:?}",
            bodies(&rest)
        );
        tx.commit().await.unwrap();
        let c = ch.counters();
        assert_eq!(c.get("EventPutSuccessCount"), 20);
        assert_eq!(c.get("RollbackCount"), 1);
        ch.close().await.unwrap();
        // A new channel in the same group starts after the committed offsets.
        let ch = kind.open("c").await.unwrap();
        let mut tx = ch.begin();
        tx.put_all(vec![Event::new(b"late".to_vec())])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (tx, got) = take_n(&ch, 1).await;
        assert_eq!(bodies(&got), vec!["late".to_owned()]);
        tx.commit().await.unwrap();
    });
}

#[test]
fn a_record_that_is_not_a_flume_event_is_skipped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let b = Broker::start(tmp.path());
    let topic = unique("chanbad");
    b.create_topic(&topic, 1);
    let kind = channel_kind(&b, &topic, &unique("g"));
    let enc = |s: &str| sluice::agent::kafka::format::encode(&Event::new(s.as_bytes().to_vec()));
    b.produce(&topic, &[enc("a"), b"garbage".to_vec(), enc("b")]);
    let rt = runtime();
    rt.block_on(async {
        let ch = kind.open("c").await.unwrap();
        let (tx, got) = take_n(&ch, 2).await;
        assert_eq!(bodies(&got), vec!["a".to_owned(), "b".to_owned()]);
        tx.commit().await.unwrap();
        assert_eq!(ch.counters().get("EventReadFail"), 1);
    });
}

#[test]
fn an_agent_on_a_kafka_channel_killed_and_restarted_loses_no_acknowledged_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let b = Broker::start(root);
    let topic = unique("agentchan");
    b.create_topic(&topic, 2);
    let nc = free_port();
    let conf = format!(
        "a.sources = r1\na.channels = c1\na.sinks = k1\n\
         a.sources.r1.type = netcat\na.sources.r1.bind = 127.0.0.1\na.sources.r1.port = {nc}\n\
         a.sources.r1.channels = c1\n\
         a.channels.c1.type = kafka\na.channels.c1.kafka.bootstrap.servers = {bs}\n\
         a.channels.c1.kafka.topic = {topic}\na.channels.c1.kafka.consumer.group.id = {g}\n\
         a.channels.c1.kafka.consumer.auto.offset.reset = earliest\n\
         a.channels.c1.kafka.consumer.session.timeout.ms = 6000\n\
         a.channels.c1.kafka.consumer.heartbeat.interval.ms = 500\n\
         a.sinks.k1.type = file_roll\na.sinks.k1.channel = c1\n\
         a.sinks.k1.sink.directory = {r}/out\na.sinks.k1.sink.rollInterval = 0\n",
        bs = b.bootstrap,
        g = unique("g"),
        r = root.display()
    );
    let mut a = Agent::start(root, "a", &conf, Some(nc));
    let first = lines("one", 0..200);
    assert_eq!(send_lines(nc, &first), first.len());
    a.kill9();
    a.restart_on(Some(nc));
    let second = lines("two", 0..200);
    assert_eq!(send_lines(nc, &second), second.len());
    let mut all = first.clone();
    all.extend(second);
    let got = wait_for_all(&[root.join("out")], &all, &[&a]);
    eprintln!("{} lines, {} duplicates", got.len(), duplicates(&got));
}
