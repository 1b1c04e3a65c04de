//! Golden bytes of a real Flume 1.11 Thrift exchange (`crates/sluice-wire/tests/fixtures/wire/thrift-*.bin`,
//! copied from `../shared/reference/wire/`, whose README decodes every byte): Flume's
//! `ThriftRpcClient` (compact protocol, framed) calling `appendBatch` then `append`, and its
//! `ThriftSource` answering `OK`. Sluice's codec decodes what Flume sent, and encodes the
//! same bytes Flume did, in both directions. Binary-protocol frames are assembled here by
//! hand from the IDL and Thrift's binary protocol spec, independently of the encoder.
//!
//! This file holds Flume's compact exchange; `binary.rs` the binary protocol; `round_trip.rs`
//! statuses, exceptions and events through both protocols; `refusals.rs` what the decoder
//! refuses or skips.

#![allow(
    clippy::disallowed_methods,
    reason = "reads its fixture files from disk"
)]

use std::path::PathBuf;

use sluice_core::{Bytes, Event};
use sluice_wire::bodies::Bodies;
use sluice_wire::thrift::{
    begin, decode_reply, encode_call, encode_reply, Begun, CallLimits, EventCall, FrameReader,
    Method, Protocol, Status, ThriftError,
};
mod binary;
mod refusals;
mod round_trip;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ev(body: &str) -> Event {
    Event::new(body).header("host", "h1")
}

fn batch() -> Vec<Event> {
    vec![ev("hello"), ev("world"), ev("")]
}

fn call_of(payload: &[u8], protocol: Protocol) -> EventCall {
    match begin(payload, protocol).unwrap() {
        Begun::Events(c) => c,
        other => panic!("not an event call: {other:?}"),
    }
}

/// Decodes as the source does: bodies are slices of the frame (and equal to copies).
fn decode(payload: &[u8], protocol: Protocol) -> (EventCall, Vec<Event>) {
    let call = call_of(payload, protocol);
    let frame = Bytes::copy_from_slice(payload);
    let (events, cost) = call
        .decode(
            &frame,
            Bodies::Share(&frame),
            &CallLimits::default(),
            u64::MAX,
        )
        .unwrap();
    for e in events.iter().filter(|e| !e.body.is_empty()) {
        let at = e.body.as_ptr() as usize - frame.as_ptr() as usize;
        assert!(
            at + e.body.len() <= frame.len(),
            "the body is a slice of the frame"
        );
    }
    let copied = call.decode(payload, Bodies::Copy, &CallLimits::default(), u64::MAX);
    assert_eq!(copied.unwrap().0, events);
    assert_eq!(call.cost(payload, &CallLimits::default()).unwrap(), cost);
    (call, events)
}

#[test]
fn the_fixtures_are_the_shared_reference_bytes_when_it_is_there() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/wire");
    if !shared.is_dir() {
        return;
    }
    for name in [
        "thrift-append-request.bin",
        "thrift-append-response.bin",
        "thrift-appendBatch-request.bin",
        "thrift-appendBatch-response.bin",
        "thrift-conn-c2s.bin",
        "thrift-conn-s2c.bin",
    ] {
        assert_eq!(
            std::fs::read(shared.join(name)).unwrap(),
            fixture(name),
            "{name}"
        );
    }
}

#[test]
fn flumes_compact_append_batch_decodes_to_its_three_events() {
    let req = fixture("thrift-appendBatch-request.bin");
    let (call, events) = decode(&req[4..], Protocol::Compact);
    assert_eq!(call.method, Method::AppendBatch);
    assert_eq!(call.seqid, 1);
    assert!(!call.oneway);
    assert_eq!(events, batch());
}

#[test]
fn flumes_compact_append_decodes_to_its_event() {
    let req = fixture("thrift-append-request.bin");
    let (call, events) = decode(&req[4..], Protocol::Compact);
    assert_eq!((call.method, call.seqid), (Method::Append, 2));
    assert_eq!(events, vec![ev("hello")]);
}

#[test]
fn sluice_encodes_flumes_calls_byte_for_byte() {
    let mut out = Vec::new();
    encode_call(
        Protocol::Compact,
        Method::AppendBatch,
        1,
        &batch(),
        &mut out,
    );
    assert_eq!(out, fixture("thrift-appendBatch-request.bin"));
    out.clear();
    encode_call(
        Protocol::Compact,
        Method::Append,
        2,
        &[ev("hello")],
        &mut out,
    );
    assert_eq!(out, fixture("thrift-append-request.bin"));
}

#[test]
fn sluice_answers_ok_with_the_bytes_flumes_source_sends() {
    let mut out = Vec::new();
    encode_reply(Protocol::Compact, "appendBatch", 1, Status::Ok, &mut out);
    assert_eq!(out, fixture("thrift-appendBatch-response.bin"));
    out.clear();
    encode_reply(Protocol::Compact, "append", 2, Status::Ok, &mut out);
    assert_eq!(out, fixture("thrift-append-response.bin"));
}

#[test]
fn flumes_replies_decode_to_ok() {
    let r = fixture("thrift-appendBatch-response.bin");
    assert_eq!(
        decode_reply(&r[4..], Protocol::Compact, Method::AppendBatch, 1),
        Ok(Status::Ok)
    );
    let r = fixture("thrift-append-response.bin");
    assert_eq!(
        decode_reply(&r[4..], Protocol::Compact, Method::Append, 2),
        Ok(Status::Ok)
    );
    // A reply to another call is not taken for this one's.
    assert!(matches!(
        decode_reply(&r[4..], Protocol::Compact, Method::Append, 3),
        Err(ThriftError::UnexpectedReply { .. })
    ));
}

#[test]
fn the_whole_connection_splits_into_flumes_frames_at_every_cut() {
    let c2s = fixture("thrift-conn-c2s.bin");
    let want = [
        fixture("thrift-appendBatch-request.bin"),
        fixture("thrift-append-request.bin"),
    ];
    for cut in 0..=c2s.len() {
        let mut r = FrameReader::new(1 << 20);
        let mut got = Vec::new();
        for part in [&c2s[..cut], &c2s[cut..]] {
            r.push(part);
            while let Some(p) = r.next_frame().unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got, vec![want[0][4..].to_vec(), want[1][4..].to_vec()]);
    }
    let s2c = fixture("thrift-conn-s2c.bin");
    assert_eq!(
        s2c,
        [
            fixture("thrift-appendBatch-response.bin"),
            fixture("thrift-append-response.bin")
        ]
        .concat()
    );
}
