//! The `thrift` source in real agent processes on loopback: a client written from Flume's IDL
//! on Apache Thrift's Python library delivers in the compact and the binary protocol; a Sluice
//! thrift sink forwards to a Sluice thrift source (two tiers); and hostile or mistaken peers
//! (TLS, HTTP, Avro, the other protocol, a frame announcing 1 GiB, garbage arguments) each
//! cost one connection, with one log line naming the probable cause, while a good client on
//! its own connection keeps getting `OK`.

use crate::support::thrift_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sluice::wire::thrift::{decode_reply, encode_call, Method, Protocol, Status, ThriftError};
use sluice_core::Event;
use thrift_support::*;

fn collector(root: &std::path::Path, protocol: &str, extra: &str) -> (Proc, u16) {
    let port = free_port();
    let conf = thrift_collector_conf(root, "col", port, protocol, extra);
    (Proc::start(root, "col", &conf, port, &[]), port)
}

#[test]
fn a_python_thrift_client_delivers_in_the_compact_and_the_binary_protocol() {
    for protocol in ["compact", "binary"] {
        let tmp = tempfile::tempdir().unwrap();
        let (col, port) = collector(tmp.path(), protocol, "");
        let first = lines(protocol, 0..3);
        let last = lines(protocol, 3..4);
        let calls = serde_json::json!([
            batch_call(&first),
            {"method": "append", "events": [{"headers": {"a": "ü"}, "body": last[0]}]},
            {"method": "scribeLog", "events": []},
            batch_call(&[]),
        ]);
        let answers = python_calls(port, protocol, &calls);
        assert_eq!(answers.len(), 4, "{answers:?}");
        assert_eq!(&answers[..2], &["OK", "OK"], "{protocol}");
        assert!(
            answers[2].starts_with("EXCEPTION:1:"),
            "an unknown method is UNKNOWN_METHOD: {answers:?}"
        );
        assert_eq!(
            answers[3], "OK",
            "the connection stays after UNKNOWN_METHOD"
        );
        let want: Vec<String> = first.into_iter().chain(last).collect();
        let got = wait_for_all(&[tmp.path().join("col/out")], &want, &[&col]);
        assert_eq!(got, want, "{protocol}");
    }
}

#[test]
fn a_sluice_thrift_sink_forwards_to_a_sluice_thrift_source_in_both_protocols() {
    for protocol in ["binary", "compact"] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let (col, port) = collector(root, protocol, "");
        let nc = free_port();
        let conf = patient(&edge_conf(
            root,
            nc,
            "k1",
            &thrift_sink("k1", port, protocol),
        ));
        let edge = Proc::start(root, "edge", &conf, nc, &[]);
        let want = lines(protocol, 0..500);
        let mut c = Client::connect(nc).unwrap();
        for chunk in want.chunks(100) {
            let ok = c.send(chunk);
            assert_eq!(
                ok,
                chunk.len(),
                "{protocol}: {ok} of {} lines acknowledged\n{}",
                chunk.len(),
                logs_of([&edge, &col])
            );
        }
        let got = wait_for_all(&[root.join("col/out")], &want, &[&edge, &col]);
        assert_eq!(duplicates(&got), 0);
        assert_eq!(got.len(), want.len());
    }
}

/// A connection with the good client's calls: Sluice's codec, one call at a time.
struct Good {
    s: TcpStream,
    seqid: i32,
}

impl Good {
    fn connect(port: u16) -> Good {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        Good { s, seqid: 0 }
    }

    fn send(&mut self, body: &str) -> Result<Status, ThriftError> {
        self.seqid += 1;
        let mut out = Vec::new();
        let events = [Event::new(body)];
        encode_call(
            Protocol::Compact,
            Method::AppendBatch,
            self.seqid,
            &events,
            &mut out,
        );
        self.s.write_all(&out).unwrap();
        let payload = read_frame(&mut self.s).expect("a reply frame");
        decode_reply(&payload, Protocol::Compact, Method::AppendBatch, self.seqid)
    }
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut p = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut p).ok()?;
    Some(p)
}

/// Sends `bytes` on a new connection; whether the source closed it (reading it to its end
/// within the wait), and what it answered before.
fn hostile(port: u16, bytes: &[u8]) -> (bool, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(bytes);
    let mut got = Vec::new();
    let closed = s.read_to_end(&mut got).is_ok();
    (closed, got)
}

/// The hostile and mistaken peers' first bytes: (name, bytes, the probable cause the source
/// logs).
fn attacks() -> [(&'static str, Vec<u8>, &'static str); 6] {
    let mut tls = vec![
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    tls.extend([0u8; 64]);
    let avro = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("crates/sluice-wire/tests/fixtures/wire/avro-conn-c2s.bin"),
    )
    .unwrap();
    let mut binary = Vec::new();
    encode_call(
        Protocol::Binary,
        Method::Append,
        1,
        &[Event::new("x")],
        &mut binary,
    );
    let mut huge = (1u32 << 30).to_be_bytes().to_vec();
    huge.extend([0x82, 0x21, 0x01]);
    // appendBatch whose list claims 100 events in a few bytes.
    let mut lying = vec![0, 0, 0, 0x13, 0x82, 0x21, 0x07, 0x0b];
    lying.extend(b"appendBatch");
    lying.extend([0x19, 0xfc, 0x64, 0x00, 0x00]);
    [
        ("tls", tls, "TLS handshake"),
        (
            "http",
            b"POST /events HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP request",
        ),
        ("avro", avro, "Avro RPC"),
        ("binary", binary, "binary protocol"),
        ("huge", huge, "exceeds the limit of 65536"),
        ("lying", lying, "list size: 100 exceeds"),
    ]
}

#[test]
fn hostile_and_mistaken_peers_cost_one_connection_each_and_name_the_probable_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let (col, port) = collector(tmp.path(), "compact", "max-frame-size = 65536\n");
    let mut good = Good::connect(port);
    assert_eq!(good.send("good-0"), Ok(Status::Ok));
    let attacks = attacks();
    for (i, (name, bytes, cause)) in attacks.iter().enumerate() {
        let (closed, answer) = hostile(port, bytes);
        assert!(closed, "{name}: the connection was not closed");
        if *name == "lying" {
            let e = decode_reply(&answer[4..], Protocol::Compact, Method::AppendBatch, 7);
            assert!(
                matches!(
                    e,
                    Err(ThriftError::Remote {
                        kind: "PROTOCOL_ERROR",
                        ..
                    })
                ),
                "{name}: {e:?}"
            );
        } else {
            assert!(answer.is_empty(), "{name}: answered {answer:?}");
        }
        col.wait_until(&format!("{name} logged"), || col.log_text().contains(cause));
        assert_eq!(
            good.send(&format!("good-{}", i + 1)),
            Ok(Status::Ok),
            "the good client after {name}"
        );
    }
    let log = col.log_text();
    assert_eq!(
        log.matches("thrift connection closed").count(),
        attacks.len(),
        "one line per refused connection:\n{log}"
    );
    let want: Vec<String> = (0..=attacks.len()).map(|i| format!("good-{i}")).collect();
    let got = wait_for_all(&[tmp.path().join("col/out")], &want, &[&col]);
    assert_eq!(got, want);
}

/// A Flume peer in a chain passes headers it does not know through unchanged, `sluiceId`
/// included (docs/exactly-once.md): a batch of Sluice-issued ids that such a peer sends again
/// (its answer was lost, it retried) is acknowledged and written once, while plain Flume
/// events, which carry no id, are written each time they come (at least once where Flume is).
#[test]
fn ids_relayed_by_a_flume_shaped_peer_are_written_once_and_plain_flume_events_each_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (col, port) = collector(tmp.path(), "compact", "");
    let with_ids: Vec<String> = lines("relayed", 0..3);
    let relayed = |bodies: &[String]| {
        let events: Vec<_> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                serde_json::json!({"headers": {"sluiceId": format!("00000000000004d2:{}", i + 1), "host": "edge"}, "body": b})
            })
            .collect();
        serde_json::json!({"method": "appendBatch", "events": events})
    };
    let plain = lines("plain", 0..2);
    let calls = serde_json::json!([
        relayed(&with_ids),
        relayed(&with_ids),
        batch_call(&plain),
        batch_call(&plain),
    ]);
    let answers = python_calls(port, "compact", &calls);
    assert_eq!(answers, ["OK", "OK", "OK", "OK"]);
    let want: Vec<String> = with_ids.iter().chain(&plain).cloned().collect();
    let out = tmp.path().join("col/out");
    wait_for_all(std::slice::from_ref(&out), &want, &[&col]);
    // Give a wrongly kept resend the time to land before counting.
    std::thread::sleep(Duration::from_millis(1500));
    let got = written(&out);
    let count = |l: &String| got.iter().filter(|g| *g == l).count();
    for l in &with_ids {
        assert_eq!(count(l), 1, "{l} came twice with the same id: {got:?}");
    }
    for l in &plain {
        assert_eq!(count(l), 2, "{l} has no id and came twice: {got:?}");
    }
}
