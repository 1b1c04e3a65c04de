//! Round trips through Sluice's Thrift codec in both protocols: every status and exception,
//! and events with Unicode, empty and many headers.

use super::decode;
use sluice_core::Event;
use sluice_wire::thrift::{
    decode_reply, encode_call, encode_exception, encode_reply, ExceptionKind, Method, Protocol,
    Status, ThriftError,
};

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
