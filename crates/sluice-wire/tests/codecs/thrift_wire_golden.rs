//! Golden bytes of a real Flume 1.11 Thrift exchange (`crates/sluice-wire/tests/fixtures/wire/thrift-*.bin`,
//! copied from `../shared/reference/wire/`, whose README decodes every byte): Flume's
//! `ThriftRpcClient` (compact protocol, framed) calling `appendBatch` then `append`, and its
//! `ThriftSource` answering `OK`. Sluice's codec decodes what Flume sent, and encodes the
//! same bytes Flume did, in both directions. Binary-protocol frames are assembled here by
//! hand from the IDL and Thrift's binary protocol spec, independently of the encoder.

#![allow(
    clippy::disallowed_methods,
    reason = "reads its fixture files from disk"
)]

use std::path::PathBuf;

use sluice_core::{Bytes, Event};
use sluice_wire::bodies::Bodies;
use sluice_wire::thrift::{
    begin, decode_reply, encode_call, encode_exception, encode_reply, Begun, CallLimits, EventCall,
    ExceptionKind, FrameReader, Method, Protocol, Status, ThriftError,
};

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

/// `appendBatch([{host:h1} "hello"])`, seqid 7, in the binary protocol, byte by byte from
/// the spec (strict head: version 0x8001, type CALL).
fn binary_append_batch() -> Vec<u8> {
    let mut b = vec![0x80, 0x01, 0x00, 0x01]; // version 1, CALL
    b.extend([0, 0, 0, 11]);
    b.extend(b"appendBatch");
    b.extend([0, 0, 0, 7]); // seqid
    b.extend([15, 0, 1]); // field 1: LIST
    b.extend([12, 0, 0, 0, 1]); // of STRUCT, 1 element
    b.extend([13, 0, 1]); // field 1: MAP
    b.extend([11, 11, 0, 0, 0, 1]); // string -> string, 1 entry
    b.extend([0, 0, 0, 4]);
    b.extend(b"host");
    b.extend([0, 0, 0, 2]);
    b.extend(b"h1");
    b.extend([11, 0, 2]); // field 2: STRING (binary)
    b.extend([0, 0, 0, 5]);
    b.extend(b"hello");
    b.push(0); // event stop
    b.push(0); // args stop
    b
}

#[test]
fn a_binary_protocol_call_built_from_the_idl_decodes_and_re_encodes_identically() {
    let want = binary_append_batch();
    let (call, events) = decode(&want, Protocol::Binary);
    assert_eq!((call.method, call.seqid), (Method::AppendBatch, 7));
    assert_eq!(events, vec![ev("hello")]);
    let mut out = Vec::new();
    encode_call(Protocol::Binary, Method::AppendBatch, 7, &events, &mut out);
    assert_eq!(&out[..4], &(want.len() as u32).to_be_bytes());
    assert_eq!(&out[4..], &want[..]);
}

#[test]
fn a_binary_protocol_reply_is_laid_out_as_the_spec_says() {
    let mut out = Vec::new();
    encode_reply(Protocol::Binary, "append", 9, Status::Failed, &mut out);
    let mut want = vec![0x80, 0x01, 0x00, 0x02, 0, 0, 0, 6];
    want.extend(b"append");
    want.extend([0, 0, 0, 9]); // seqid
    want.extend([8, 0, 0, 0, 0, 0, 1]); // field 0: I32 = 1 (FAILED)
    want.push(0);
    assert_eq!(&out[4..], &want[..]);
    assert_eq!(
        decode_reply(&want, Protocol::Binary, Method::Append, 9),
        Ok(Status::Failed)
    );
}

#[test]
fn an_old_non_strict_binary_head_is_read_too() {
    let mut b = vec![0, 0, 0, 6];
    b.extend(b"append");
    b.push(1); // CALL
    b.extend([0, 0, 0, 3]);
    b.extend([
        12, 0, 1, 13, 0, 1, 11, 11, 0, 0, 0, 0, 11, 0, 2, 0, 0, 0, 1, b'x', 0, 0,
    ]);
    let (call, events) = decode(&b, Protocol::Binary);
    assert_eq!((call.method, call.seqid), (Method::Append, 3));
    assert_eq!(events, vec![Event::new("x")]);
}

#[test]
fn every_status_and_exception_round_trips_in_both_protocols() {
    for p in [Protocol::Compact, Protocol::Binary] {
        for s in [Status::Ok, Status::Failed, Status::Error, Status::Unknown] {
            let mut out = Vec::new();
            encode_reply(p, "appendBatch", -5, s, &mut out);
            assert_eq!(decode_reply(&out[4..], p, Method::AppendBatch, -5), Ok(s));
        }
        let mut out = Vec::new();
        encode_exception(
            p,
            "append",
            4,
            ExceptionKind::ProtocolError,
            "bad event",
            &mut out,
        );
        assert_eq!(
            decode_reply(&out[4..], p, Method::Append, 4),
            Err(ThriftError::Remote {
                kind: "PROTOCOL_ERROR",
                message: "bad event".into()
            })
        );
    }
}

#[test]
fn events_round_trip_in_both_protocols_with_unicode_empty_and_many_headers() {
    let mut big = Event::new(vec![0u8, 255, 10, 13]);
    for i in 0..40 {
        big = big.header(format!("k{i}"), "ü".repeat(i));
    }
    let many: Vec<Event> = (0..300).map(|i| Event::new(format!("e{i}"))).collect();
    for p in [Protocol::Compact, Protocol::Binary] {
        for events in [vec![big.clone(), Event::new("")], many.clone(), vec![]] {
            let mut out = Vec::new();
            encode_call(p, Method::AppendBatch, i32::MAX, &events, &mut out);
            let (call, back) = decode(&out[4..], p);
            assert_eq!(call.seqid, i32::MAX);
            assert_eq!(back, events);
        }
    }
}

#[test]
fn an_unknown_method_is_named_and_a_reply_is_not_a_call() {
    let mut out = Vec::new();
    encode_reply(Protocol::Compact, "scribeLog", 3, Status::Ok, &mut out);
    assert!(matches!(
        begin(&out[4..], Protocol::Compact),
        Err(ThriftError::BadMessageType { kind: 2, .. })
    ));
    let mut b = vec![0x82, 0x21, 3, 3];
    b.extend(b"Log");
    b.push(0);
    assert_eq!(
        begin(&b, Protocol::Compact),
        Ok(Begun::Unknown {
            name: "Log".into(),
            seqid: 3,
            oneway: false
        })
    );
}

#[test]
fn limits_refuse_before_allocating_and_lies_about_counts_are_caught() {
    let many: Vec<Event> = (0..20).map(|_| ev("x")).collect();
    for p in [Protocol::Compact, Protocol::Binary] {
        let mut out = Vec::new();
        encode_call(p, Method::AppendBatch, 1, &many, &mut out);
        let call = call_of(&out[4..], p);
        let small = CallLimits {
            events_max: 19,
            headers_max: 1,
        };
        assert!(matches!(
            call.decode(&out[4..], Bodies::Copy, &small, u64::MAX),
            Err(ThriftError::TooLong {
                len: 20,
                max: 19,
                ..
            })
        ));
        let no_headers = CallLimits {
            events_max: 100,
            headers_max: 0,
        };
        assert!(matches!(
            call.decode(&out[4..], Bodies::Copy, &no_headers, u64::MAX),
            Err(ThriftError::TooLong { len: 1, max: 0, .. })
        ));
        let cost = call.cost(&out[4..], &CallLimits::default()).unwrap();
        assert!(matches!(
            call.decode(&out[4..], Bodies::Copy, &CallLimits::default(), cost - 1),
            Err(ThriftError::OverBudget { .. })
        ));
    }
    // A compact list that claims 2^31-1 events in a 30-byte frame.
    let mut b = vec![0x82, 0x21, 1, 11];
    b.extend(b"appendBatch");
    b.extend([0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0]);
    let call = call_of(&b, Protocol::Compact);
    let big = CallLimits {
        events_max: usize::MAX,
        headers_max: 1,
    };
    assert!(matches!(
        call.decode(&b, Bodies::Copy, &big, u64::MAX),
        Err(ThriftError::TooLong {
            len: 2147483647,
            ..
        })
    ));
}

#[test]
fn unknown_fields_are_skipped_and_missing_required_ones_refused() {
    // append({1: headers {}, 2: "b", 3: i64, 4: list<struct{}>, 5: bool true}) then an
    // unknown args field 9: string.
    let mut b = vec![0x82, 0x21, 1, 6];
    b.extend(b"append");
    b.extend([0x1c, 0x1b, 0x00, 0x18, 0x01, b'b', 0x16, 0x02]);
    b.extend([0x19, 0x2c, 0x00, 0x00, 0x11, 0x00]);
    b.extend([0x88, 0x01, b'z', 0x00]);
    let (_, events) = decode(&b, Protocol::Compact);
    assert_eq!(events, vec![Event::new("b")]);
    // The same event without its body.
    let mut b = vec![0x82, 0x21, 1, 6];
    b.extend(b"append");
    b.extend([0x1c, 0x1b, 0x00, 0x00, 0x00]);
    let call = call_of(&b, Protocol::Compact);
    assert_eq!(
        call.decode(&b, Bodies::Copy, &CallLimits::default(), u64::MAX),
        Err(ThriftError::Missing {
            what: "ThriftFlumeEvent.body"
        })
    );
    // Trailing bytes after the args struct.
    let mut out = Vec::new();
    encode_call(Protocol::Compact, Method::Append, 1, &[ev("x")], &mut out);
    out.push(0);
    let call = call_of(&out[4..], Protocol::Compact);
    assert!(matches!(
        call.decode(&out[4..], Bodies::Copy, &CallLimits::default(), u64::MAX),
        Err(ThriftError::TrailingBytes { count: 1, .. })
    ));
}
