//! What Sluice's Thrift decoder refuses or skips: an unknown method (named), a reply where a
//! call is due, sizes over the limits before anything is allocated, counts that lie, unknown
//! fields (skipped) and missing required ones (refused).

use super::{call_of, decode, ev};
use sluice_core::Event;
use sluice_wire::bodies::Bodies;
use sluice_wire::thrift::{
    begin, encode_call, encode_reply, Begun, CallLimits, Method, Protocol, Status, ThriftError,
};

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
