//! Golden bytes and round trips of the Java host's frames.

use super::*;

fn body(frame: &[u8]) -> &[u8] {
    let n = frame_len([frame[0], frame[1], frame[2], frame[3]]).unwrap();
    assert_eq!(n, frame.len() - LEN_BYTES);
    &frame[LEN_BYTES..]
}

#[test]
fn a_put_of_one_event_has_the_documented_bytes() {
    let e = Event::new("hi").header("k", "v");
    let f = encode_from_jvm(&FromJvm::Put(vec![e.clone()]));
    let want: &[u8] = &[
        0, 0, 0, 25,   // length
        0x90, // PUT
        0, 0, 0, 1, // one event
        0, 0, 0, 1, // one header
        0, 0, 0, 1, b'k', 0, 0, 0, 1, b'v', // k=v
        0, 0, 0, 2, b'h', b'i', // body
    ];
    assert_eq!(f, want);
    assert_eq!(decode_from_jvm(body(&f)).unwrap(), FromJvm::Put(vec![e]));
}

#[test]
fn every_frame_round_trips() {
    let ev = vec![
        Event::new(vec![0u8, 255, 10]),
        Event::new("").header("a", "é"),
    ];
    for m in [
        FromJvm::Ack(Status::Error, "boom".into()),
        FromJvm::Put(ev.clone()),
        FromJvm::Take(100),
        FromJvm::Commit(3),
        FromJvm::Rollback,
        FromJvm::Counters(vec![GroupCounts {
            kind: "SOURCE".into(),
            name: "r1".into(),
            counts: vec![("src.events.received".into(), u64::MAX)],
        }]),
        FromJvm::Failed("oom".into()),
        FromJvm::Intercepted(ev.clone()),
        FromJvm::Written(vec![0, 1, 2, 255]),
        FromJvm::Selected(vec![
            Choice {
                required: vec![0, 2],
                optional: vec![1],
            },
            Choice::default(),
        ]),
        FromJvm::Threw("java.lang.IllegalStateException: no".into()),
        FromJvm::Process(1),
    ] {
        assert_eq!(decode_from_jvm(body(&encode_from_jvm(&m))).unwrap(), m);
    }
    for m in [
        ToJvm::Configure {
            role: Role::Sink,
            class: "a.B".into(),
            name: "k1".into(),
            props: vec![("prefix".into(), "p:".into())],
        },
        ToJvm::Start,
        ToJvm::Stop,
        ToJvm::PutDone(Status::Full, "full".into()),
        ToJvm::Taken(ev.clone()),
        ToJvm::TxDone(Status::Ok, String::new()),
        ToJvm::Intercept(ev.clone()),
        ToJvm::Serialize {
            stream: 7,
            op: SerializeOp::Write,
            events: ev.clone(),
        },
        ToJvm::Serialize {
            stream: 0,
            op: SerializeOp::Close,
            events: Vec::new(),
        },
        ToJvm::Select(ev.clone()),
        ToJvm::Processed(Processed::Ready),
        ToJvm::Processed(Processed::Backoff),
        ToJvm::Processed(Processed::Failed("k1: delivery failed".into())),
        ToJvm::Configure {
            role: Role::Interceptor,
            class: "a.B$Builder".into(),
            name: "r1.i1".into(),
            props: Vec::new(),
        },
    ] {
        assert_eq!(decode_to_jvm(body(&encode_to_jvm(&m))).unwrap(), m);
    }
}

#[test]
fn lengths_outside_the_limits_are_refused_from_the_prefix() {
    assert_eq!(frame_len([0, 0, 0, 0]), Err(FrameError::Length(0)));
    let over = (MAX_FRAME_BYTES as u32 + 1).to_be_bytes();
    assert_eq!(
        frame_len(over),
        Err(FrameError::Length(MAX_FRAME_BYTES + 1))
    );
}

#[test]
fn a_forged_event_count_is_refused_before_any_allocation() {
    let f = [0x90, 0, 0x01, 0x86, 0xA1]; // PUT of 100_001 events
    assert_eq!(
        decode_from_jvm(&f),
        Err(FrameError::Count(0x90, 100_001, MAX_EVENTS))
    );
    let f = [0x90, 0, 0, 0x10, 0]; // 4096 events in no bytes
    assert_eq!(decode_from_jvm(&f), Err(FrameError::Short(0x90)));
}

#[test]
fn truncated_trailing_and_unknown_frames_are_errors_not_panics() {
    let full = encode_from_jvm(&FromJvm::Put(vec![Event::new("abc").header("x", "y")]));
    let b = body(&full);
    for cut in 0..b.len() {
        assert!(decode_from_jvm(&b[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = b.to_vec();
    long.push(0);
    assert_eq!(decode_from_jvm(&long), Err(FrameError::Trailing(0x90, 1)));
    assert_eq!(decode_from_jvm(&[0x42]), Err(FrameError::Type(0x42)));
    assert_eq!(
        decode_from_jvm(&[0x80, 7, 0, 0, 0, 0]),
        Err(FrameError::Value(0x80, 7))
    );
    assert_eq!(
        decode_from_jvm(&[0xA1, 0, 0, 0, 1, 0xFF]),
        Err(FrameError::Utf8(0xA1))
    );
}

#[test]
fn events_bytes_is_what_a_batch_adds_to_a_frame() {
    let ev = vec![
        Event::new(vec![7u8; 300]).header("service", "api"),
        Event::new("").header("a", "é").header("b", ""),
    ];
    let f = encode_to_jvm(&ToJvm::Intercept(ev.clone()));
    assert_eq!(f.len(), LEN_BYTES + 1 + events_bytes(&ev));
    assert_eq!(events_bytes(&[]), 4);
}
