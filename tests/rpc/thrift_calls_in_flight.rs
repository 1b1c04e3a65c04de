//! A raw-frame client with several calls in flight into a thrift source over a file channel:
//! each burst writes three `appendBatch` calls and a oneway one among them before reading any
//! answer. Every event is written once and in the order sent, the answered calls are answered
//! `OK` in their order (the oneway call is put, not answered, and takes no answer's place),
//! and calls that waited behind a put were joined into one transaction (`CallsJoinedCount`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::lines_support::written as lines_in;
use crate::support::ports::free_port;
use sluice::agent::metrics::Registry;
use sluice::agent::runtime::Agent;
use sluice::agent::topology as config;
use sluice::wire::thrift::{decode_reply, encode_call, Method, Protocol, Status};
use sluice_core::Event;

const WAIT: Duration = Duration::from_secs(30);
const PER_CALL: usize = 10;
/// Calls of a burst; the one at [`ONEWAY_AT`] is sent oneway.
const IN_FLIGHT: usize = 4;
const ONEWAY_AT: usize = 1;
/// The compact protocol's second byte for a oneway message (version 1, type 4 << 5).
const COMPACT_ONEWAY: u8 = 0x81;

fn agent_config(root: &std::path::Path, port: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = thrift\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {cp}\n\
         a1.channels.c1.dataDirs = {data}\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.batchSize = 20\n\
         a1.sinks.k1.sink.directory = {out}\na1.sinks.k1.sink.rollInterval = 0\n",
        cp = root.join("cp").display(),
        data = root.join("data").display(),
        out = root.join("out").display(),
    )
}

/// One burst's frames (seqids from `seqid0`) and the bodies they carry, in order.
fn burst(burst: usize, seqid0: i32) -> (Vec<u8>, Vec<String>) {
    let (mut frames, mut bodies) = (Vec::new(), Vec::new());
    for c in 0..IN_FLIGHT {
        let events: Vec<Event> = (0..PER_CALL)
            .map(|i| Event::new(format!("b{burst:02}-c{c}-e{i}")))
            .collect();
        bodies.extend((0..PER_CALL).map(|i| format!("b{burst:02}-c{c}-e{i}")));
        let at = frames.len();
        let seqid = seqid0 + c as i32;
        encode_call(
            Protocol::Compact,
            Method::AppendBatch,
            seqid,
            &events,
            &mut frames,
        );
        if c == ONEWAY_AT {
            // After the 4-byte length and the protocol id.
            frames[at + 5] = COMPACT_ONEWAY;
        }
    }
    (frames, bodies)
}

async fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let read = async {
        let len = s.read_u32().await.unwrap();
        let mut p = vec![0u8; len as usize];
        s.read_exact(&mut p).await.unwrap();
        p
    };
    tokio::time::timeout(WAIT, read).await.expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thrift_calls_in_flight_are_put_together_in_order_and_answered_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, port) = (tmp.path(), free_port());
    std::fs::create_dir_all(root.join("out")).unwrap();
    let loaded = config::load(&agent_config(root, port), "a1", &[]);
    let cfg = loaded
        .config
        .unwrap_or_else(|| panic!("{:?}", loaded.problems));
    let registry = Arc::new(Registry::default());
    let agent = Agent::start(cfg, registry.clone()).await.unwrap();
    let end = Instant::now() + WAIT;
    let mut s = loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => break s,
            Err(e) => assert!(Instant::now() < end, "source never listened: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let gauge = |name: &str| {
        let g = registry.get("SOURCE.r1").unwrap().snapshot();
        g.get(name).map_or(0, |v| v.parse::<u64>().unwrap())
    };
    let mut sent = Vec::new();
    // Bursts until some calls were joined (a call read while the one before it is being
    // fsynced waits for it: the first burst almost always does it), at most 40.
    for b in 0..40 {
        let seqid0 = (b * IN_FLIGHT) as i32 + 1;
        let (frames, bodies) = burst(b, seqid0);
        sent.extend(bodies);
        s.write_all(&frames).await.unwrap();
        for c in (0..IN_FLIGHT).filter(|c| *c != ONEWAY_AT) {
            let seqid = seqid0 + c as i32;
            let reply = read_frame(&mut s).await;
            let status = decode_reply(&reply, Protocol::Compact, Method::AppendBatch, seqid);
            assert_eq!(status.unwrap(), Status::Ok, "burst {b} call {c}");
        }
        if gauge("CallsJoinedCount") > 0 {
            break;
        }
    }
    assert!(
        gauge("CallsJoinedCount") > 0,
        "no call was put with an earlier one"
    );
    let out = root.join("out");
    while lines_in(&out).len() < sent.len() {
        let n = lines_in(&out).len();
        assert!(
            Instant::now() < end + WAIT,
            "only {n} of {} lines",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines_in(&out), sent, "every event once, in the order sent");
    assert_eq!(gauge("ChannelWriteFail"), 0);
    assert_eq!(
        gauge("AppendBatchAcceptedCount"),
        sent.len() as u64 / PER_CALL as u64
    );
    agent.shutdown().await;
}
