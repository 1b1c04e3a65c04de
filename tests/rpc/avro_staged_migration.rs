//! Issue 87, item 10: a staged migration (edges on Sluice first, collectors still on Flume).
//! A Sluice avro sink sends the events' ids (`sluiceId`) only to a downstream that said in the
//! Avro handshake that it takes them (Sluice's avro source); a Flume collector, which answers
//! the handshake `BOTH` with `meta = null` whatever the client asked, gets exactly the
//! events' own headers, so nothing of Sluice's shows in its `header_and_text`, `avro_event`
//! or logger output. `eventIds = false` on the sink sends none even to Sluice;
//! `eventIds = true` sends them to any peer. Sluice to Sluice keeps its ids (the exactly-once
//! hop: `avro_multihop_headers`, `avro_fan_in_kill`).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::avro_plain::read_frame;
use crate::support::multihop::*;
use crate::support::wait::wait_until;
use sluice::wire::avro::call::{read_call, CallBody};
use sluice::wire::avro::CallLimits;

/// What a Flume-shaped collector received: every event's headers and body.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A collector that answers as Flume's `AvroSource` (Avro's `Responder`) does: the handshake
/// with Flume's captured bytes (`00 00 00 00`: `BOTH`, `meta = null`), whatever metadata the
/// client sent, then `OK` to every call. Keeps each event it was sent, and whether any
/// request's bytes held the text `sluiceId`.
fn flume_shaped_collector() -> (u16, Received, Arc<Mutex<bool>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let saw_id_text = Arc::new(Mutex::new(false));
    let (g, s) = (got.clone(), saw_id_text.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (g, s) = (g.clone(), s.clone());
            std::thread::spawn(move || serve_like_flume(conn, &g, &s));
        }
    });
    (port, got, saw_id_text)
}

/// One connection of [`flume_shaped_collector`]: Sluice's client opens with a handshake-only
/// ping, answered as Avro answers one (the handshake response alone); every later frame is
/// a call, answered `OK` (empty response metadata, no error, `Status.OK`).
fn serve_like_flume(mut conn: TcpStream, got: &Received, saw_id_text: &Mutex<bool>) {
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut first = true;
    while let Ok((serial, payload)) = read_frame(&mut conn) {
        if payload.windows(8).any(|w| w == b"sluiceId") {
            *saw_id_text.lock().unwrap() = true;
        }
        let answer: &[u8] = if first { &[0, 0, 0, 0] } else { &[0, 0, 0] };
        if !first {
            let call = read_call(
                &mut sluice::wire::avro::binary::Reader::new(&payload),
                &CallLimits::default(),
            )
            .unwrap();
            let CallBody::AppendBatch(events) = call.body else {
                panic!("not an appendBatch")
            };
            let mut g = got.lock().unwrap();
            for e in events {
                let headers = e
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                g.push((headers, String::from_utf8_lossy(&e.body).into_owned()));
            }
        }
        first = false;
        let mut reply = serial.to_be_bytes().to_vec();
        reply.extend_from_slice(&1i32.to_be_bytes());
        reply.extend_from_slice(&(answer.len() as i32).to_be_bytes());
        reply.extend_from_slice(answer);
        if std::io::Write::write_all(&mut conn, &reply).is_err() {
            return;
        }
    }
}

/// An edge (netcat -> file channel, `eventIds` on by default -> avro sink to `port`, plus
/// `sink_extra` keys) with a static interceptor `host=edge-1`; sends `n` lines.
fn edge_sending(root: &Path, port: u16, sink_extra: &str, n: usize) -> (Proc, Vec<String>) {
    edge_sending_to(root, &avro_sink("k1", port), sink_extra, n)
}

/// [`edge_sending`] through the sink lines `sink`.
fn edge_sending_to(root: &Path, sink: &str, sink_extra: &str, n: usize) -> (Proc, Vec<String>) {
    let nc = free_port();
    let conf = patient(&edge_conf(root, nc, "k1", sink))
        + "edge.sources.r1.interceptors = s\n\
           edge.sources.r1.interceptors.s.type = static\n\
           edge.sources.r1.interceptors.s.key = host\n\
           edge.sources.r1.interceptors.s.value = edge-1\n"
        + sink_extra;
    let edge = Proc::start(root, "edge", &conf, nc, &[]);
    let lines: Vec<String> = (0..n).map(|i| format!("line-{i}")).collect();
    let mut client = Client::connect(nc).unwrap();
    assert_eq!(client.send(&lines), n, "the edge acknowledged every line");
    (edge, lines)
}

fn wait_for_bodies(got: &Received, want: &[String], edge: &Proc) {
    wait_until(
        WAIT,
        || {
            let g = got.lock().unwrap();
            want.iter().all(|w| g.iter().any(|(_, b)| b == w))
        },
        || format!("not every line arrived:\n{}", logs_of([edge])),
    );
}

#[test]
fn a_sluice_edge_sends_a_flume_collector_exactly_the_events_own_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, got, saw_id_text) = flume_shaped_collector();
    let (edge, lines) = edge_sending(tmp.path(), port, "", 20);
    wait_for_bodies(&got, &lines, &edge);
    for (headers, body) in got.lock().unwrap().iter() {
        assert_eq!(
            headers,
            &[("host".to_owned(), "edge-1".to_owned())],
            "{body}: not exactly the event's own headers"
        );
    }
    assert!(
        !*saw_id_text.lock().unwrap(),
        "a request to the Flume-shaped collector held `sluiceId`"
    );
}

#[test]
fn event_ids_true_sends_the_ids_even_to_a_peer_that_did_not_say_it_takes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, got, _) = flume_shaped_collector();
    let (edge, lines) = edge_sending(tmp.path(), port, "edge.sinks.k1.eventIds = true\n", 5);
    wait_for_bodies(&got, &lines, &edge);
    for (headers, body) in got.lock().unwrap().iter() {
        assert!(
            headers.iter().any(|(k, _)| k == "sluiceId"),
            "{body}: {headers:?}"
        );
    }
}

/// A Sluice collector with a memory channel (which adds no id of its own) and
/// `keepEventId = true`: the output shows whether the edge's id came over the hop.
fn sluice_collector_keeping_ids(root: &Path) -> (Proc, u16) {
    let avro = free_port();
    let conf = collector_conf(root, "col", avro).replace(
        "col.channels.c1.type = file",
        "col.channels.c1.type = memory",
    ) + "col.sinks.k1.sink.serializer = header_and_text\n\
           col.sinks.k1.keepEventId = true\n";
    (Proc::start(root, "col", &conf, avro, &[]), avro)
}

fn collector_lines(root: &Path, want: usize, procs: [&Proc; 2]) -> Vec<String> {
    let out = root.join("col/out");
    let read = || -> Vec<String> {
        let mut lines = Vec::new();
        for f in std::fs::read_dir(&out).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            lines.extend(text.lines().map(str::to_owned));
        }
        lines
    };
    wait_until(
        WAIT,
        || read().len() >= want,
        || format!("the collector wrote {:?}\n{}", read(), logs_of(procs)),
    );
    read()
}

#[test]
fn sluice_to_sluice_carries_the_ids_and_event_ids_false_carries_none() {
    for (extra, ids) in [("", true), ("edge.sinks.k1.eventIds = false\n", false)] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let (col, avro) = sluice_collector_keeping_ids(root);
        let (edge, lines) = edge_sending(root, avro, extra, 10);
        let out = collector_lines(root, lines.len(), [&edge, &col]);
        for l in &out {
            assert_eq!(l.contains("sluiceId="), ids, "eventIds {extra:?}: {l}");
            assert!(l.contains("host=edge-1"), "{l}");
        }
    }
}

/// A thrift collector that answers as Flume's `ThriftSource` (Thrift's `TBaseProcessor`)
/// does: a method it does not have (Sluice's `sluiceEventIds` probe) with a
/// `TApplicationException` `UNKNOWN_METHOD`, the connection kept; `appendBatch` with `OK`.
fn flume_shaped_thrift_collector() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let g = g.clone();
            std::thread::spawn(move || serve_thrift_like_flume(conn, &g));
        }
    });
    (port, got)
}

fn serve_thrift_like_flume(mut conn: TcpStream, got: &Received) {
    use sluice::wire::bodies::Bodies;
    use sluice::wire::thrift::{begin, encode_exception, encode_reply, Begun, ExceptionKind};
    use sluice::wire::thrift::{CallLimits as ThriftLimits, Protocol, Status};
    use std::io::{Read, Write};
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok();
    loop {
        let mut len = [0u8; 4];
        if conn.read_exact(&mut len).is_err() {
            return;
        }
        let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
        if conn.read_exact(&mut payload).is_err() {
            return;
        }
        let mut out = Vec::new();
        match begin(&payload, Protocol::Compact).unwrap() {
            Begun::Unknown { name, seqid, .. } => {
                let msg = format!("Invalid method name: '{name}'");
                let kind = ExceptionKind::UnknownMethod;
                encode_exception(Protocol::Compact, &name, seqid, kind, &msg, &mut out);
            }
            Begun::Events(call) => {
                let bytes = sluice_core::Bytes::from(payload.clone());
                let (events, _) = call
                    .decode(&bytes, Bodies::Copy, &ThriftLimits::default(), u64::MAX)
                    .unwrap();
                let mut g = got.lock().unwrap();
                for e in events {
                    let headers = e
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    g.push((headers, String::from_utf8_lossy(&e.body).into_owned()));
                }
                let name = call.method.name();
                encode_reply(Protocol::Compact, name, call.seqid, Status::Ok, &mut out);
            }
        }
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}

#[test]
fn a_sluice_thrift_sink_sends_a_flume_shaped_thrift_collector_no_event_id() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, got) = flume_shaped_thrift_collector();
    let sink = avro_sink("k1", port).replace(
        "edge.sinks.k1.type = avro\n",
        "edge.sinks.k1.type = thrift\nedge.sinks.k1.protocol = compact\n",
    );
    let (edge, lines) = edge_sending_to(tmp.path(), &sink, "", 10);
    wait_for_bodies(&got, &lines, &edge);
    for (headers, body) in got.lock().unwrap().iter() {
        assert_eq!(
            headers,
            &[("host".to_owned(), "edge-1".to_owned())],
            "{body}: not exactly the event's own headers"
        );
    }
}
