//! A client with several calls in flight (the avro sink's `max-calls-in-flight`, through
//! `AvroPipe`) into an avro source over a file channel: every call answered `OK`, every event
//! once and in the order sent, calls that waited behind a put joined into one transaction
//! (`CallsJoinedCount`), never past the channel's `transactionCapacity`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::lines_support::written as lines_in;
use crate::support::ports::free_port;
use sluice::agent::metrics::Registry;
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig};
use sluice::agent::rpc::avro_pipe::AvroPipe;
use sluice::agent::runtime::Agent;
use sluice::agent::topology as config;
use sluice_core::Event;

const WAIT: Duration = Duration::from_secs(30);
/// Events per call; the channel's `transactionCapacity` holds two calls, not three.
const PER_CALL: usize = 10;
const TX_CAPACITY: usize = 25;
/// Calls written before the first answer is read.
const IN_FLIGHT: usize = 8;

/// avro source on `port` -> file channel (`transactionCapacity` [`TX_CAPACITY`]) ->
/// file_roll into `out`.
fn agent_conf(root: &std::path::Path, port: u16, out: &std::path::Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {cp}\n\
         a1.channels.c1.dataDirs = {data}\na1.channels.c1.transactionCapacity = {TX_CAPACITY}\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.batchSize = 20\n\
         a1.sinks.k1.sink.directory = {out}\na1.sinks.k1.sink.rollInterval = 0\n",
        cp = root.join("cp").display(),
        data = root.join("data").display(),
        out = out.display(),
    )
}

/// A client of the source on `port`, once it listens.
async fn connect(port: u16) -> AvroClient {
    let addr = format!("127.0.0.1:{port}");
    let end = Instant::now() + WAIT;
    loop {
        match AvroClient::connect(&addr, AvroClientConfig::default()).await {
            Ok(c) => return c,
            Err(e) => assert!(Instant::now() < end, "source never listened: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Bursts of [`IN_FLIGHT`] calls until some calls were joined (the first burst almost always
/// does it: a call read while the one before it is being fsynced waits for it), at most 40;
/// the bodies sent, in order.
async fn send_until_joined(pipe: &mut AvroPipe, joined: &dyn Fn() -> u64) -> Vec<String> {
    let mut sent = Vec::new();
    for burst in 0..40 {
        let mut answers = Vec::new();
        for c in 0..IN_FLIGHT {
            let events: Vec<Event> = (0..PER_CALL)
                .map(|i| Event::new(format!("b{burst:02}-c{c}-e{i}")))
                .collect();
            sent.extend(
                events
                    .iter()
                    .map(|e| String::from_utf8_lossy(&e.body).into_owned()),
            );
            answers.push(pipe.send(&events).await.unwrap());
        }
        for a in answers {
            a.wait().await.unwrap();
        }
        if joined() > 0 {
            break;
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_are_put_together_in_order_within_the_transaction_capacity() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, port) = (tmp.path(), free_port());
    let out = root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let text = agent_conf(root, port, &out);
    let loaded = config::load(&text, "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("{:?}", loaded.problems));
    let registry = Arc::new(Registry::default());
    let agent = Agent::start(cfg, registry.clone()).await.unwrap();
    let client = connect(port).await;
    let mut pipe = AvroPipe::new(client, WAIT).unwrap();
    let joined = || {
        let g = registry.get("SOURCE.r1").unwrap();
        g.snapshot()
            .get("CallsJoinedCount")
            .map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let sent = send_until_joined(&mut pipe, &joined).await;
    assert!(joined() > 0, "no call was put with an earlier one");
    assert!(pipe.broken().is_none());
    let end = Instant::now() + WAIT;
    while lines_in(&out).len() < sent.len() {
        assert!(
            Instant::now() < end,
            "only {} of {} lines",
            lines_in(&out).len(),
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines_in(&out), sent, "every event once, in the order sent");
    let g = registry.get("SOURCE.r1").unwrap().snapshot();
    assert_eq!(g.get("ChannelWriteFail").map(String::as_str), Some("0"));
    agent.shutdown().await;
}
