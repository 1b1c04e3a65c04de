//! The origins one connection may bring to a collector's dedup table (issue 64, item 5), on the
//! real binary: an avro client whose every event names a new event-id origin gets every event
//! written, but past `ADDRESS_ORIGINS_MAX` (4,096) origins from one address the ids are
//! removed (`EventIdStrippedCount`), so the channel's table holds no more than that.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::avro_plain::{frame, read_frame, request};
use crate::support::lines_support::wait_for_all;
use crate::support::ports::free_port;

/// Origins the client names, one event each.
const ORIGINS: u64 = 5_000;
/// The bound of one address (src/agent/source/peer_origins.rs).
const BOUND: u64 = 4_096;

#[test]
fn one_connection_naming_a_new_origin_per_event_fills_at_most_its_share_of_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (avro, mon) = (free_port(), free_port());
    let out = root.join("out");
    let conf = format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {avro}\ncol.sources.r1.channels = c1\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {}\n\
         col.channels.c1.dataDirs = {}\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {}\ncol.sinks.k1.sink.rollInterval = 0\n",
        root.join("ck").display(),
        root.join("data").display(),
        out.display()
    );
    std::fs::create_dir_all(&out).unwrap();
    let col = HttpAgent::spawn(
        root,
        "col",
        &conf,
        vec!["--no-reload-conf".into()],
        mon,
        Some(avro),
    );
    let mut s = TcpStream::connect(("127.0.0.1", avro)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let bodies: Vec<String> = (1..=ORIGINS).map(|o| format!("origin {o} line")).collect();
    let ids: Vec<String> = (1..=ORIGINS).map(|o| format!("{o:016x}:1")).collect();
    for (call, chunk) in (0..ORIGINS as usize)
        .collect::<Vec<_>>()
        .chunks(500)
        .enumerate()
    {
        let events: Vec<(&str, &str, &[u8])> = chunk
            .iter()
            .map(|i| ("sluiceId", ids[*i].as_str(), bodies[*i].as_bytes()))
            .collect();
        let payload = request(call == 0, "appendBatch", &events);
        s.write_all(&frame(call as i32, &payload)).unwrap();
        read_frame(&mut s).unwrap();
    }
    let got = wait_for_all(
        std::slice::from_ref(&out),
        &bodies,
        Duration::from_secs(60),
        || col.proc.log_text(),
    );
    assert_eq!(got.len(), ORIGINS as usize, "every event written once");
    assert_eq!(
        counter(mon, "SOURCE.r1", "EventIdStrippedCount"),
        ORIGINS - BOUND
    );
    // The connection's origins and the channel's own (it numbered the events past the bound).
    let origins = counter(mon, "CHANNEL.c1", "DedupOriginCount");
    assert!(origins <= BOUND + 1, "{origins} origins in the table");
    assert!(col
        .proc
        .log_text()
        .contains("more event-id origins than its address may"));
}
