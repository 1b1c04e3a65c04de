//! Tests of the call codec: limits refused before decoding, the counted bytes, error responses.

use super::*;
use sluice_core::Headers;

#[test]
fn a_batch_announcing_more_events_than_allowed_is_refused_before_reading_them() {
    let events = vec![Event::new("a"), Event::new("b"), Event::new("c")];
    let [_, params] = encode_request(None, Message::AppendBatch, &events);
    let limits = CallLimits {
        events_max: 2,
        headers_max: 4,
    };
    let e = read_events(&mut Reader::new(&params), &limits).unwrap_err();
    assert!(matches!(e, AvroError::TooLong { len: 3, max: 2, .. }));
}

#[test]
fn an_event_with_too_many_headers_is_refused() {
    let mut e = Event::new("x");
    for i in 0..5 {
        e = e.header(format!("k{i}"), "v");
    }
    let mut b = Vec::new();
    put_event(&mut b, &e);
    let limits = CallLimits {
        events_max: 2,
        headers_max: 4,
    };
    assert!(matches!(
        read_event(&mut Reader::new(&b), &limits),
        Err(AvroError::TooLong {
            what: "event headers",
            ..
        })
    ));
    let limits = CallLimits {
        events_max: 2,
        headers_max: 5,
    };
    assert_eq!(read_event(&mut Reader::new(&b), &limits).unwrap(), e);
}

#[test]
fn the_counted_bytes_are_known_before_decoding_and_bound_it() {
    let events: Vec<Event> = (0..10)
        .map(|i| Event::new(vec![b'x'; 100]).header("k", format!("v{i}")))
        .collect();
    let [_, params] = encode_request(None, Message::AppendBatch, &events);
    let limits = CallLimits::default();
    let cost = params_cost(&mut Reader::new(&params), true, &limits).unwrap();
    use crate::cost::{EVENT_COST_BYTES, HEADER_COST_BYTES};
    assert_eq!(cost, 10 * (EVENT_COST_BYTES + 100 + HEADER_COST_BYTES + 3));
    let (got, counted) =
        read_params(&mut Reader::new(&params), true, &limits, Bodies::Copy, cost).unwrap();
    assert_eq!((got, counted), (events, cost));
    let e = read_params(
        &mut Reader::new(&params),
        true,
        &limits,
        Bodies::Copy,
        cost - 1,
    )
    .unwrap_err();
    assert!(matches!(e, AvroError::OverBudget { .. }), "{e}");
}

#[test]
fn a_call_of_tiny_headers_counts_far_more_than_its_wire_bytes() {
    let mut e = Event::new("");
    for i in 0..1000 {
        e = e.header(format!("{i}"), "");
    }
    let [_, params] = encode_request(None, Message::Append, &[e]);
    let cost = params_cost(&mut Reader::new(&params), false, &CallLimits::default()).unwrap();
    assert!(
        cost > 25 * params.len() as u64,
        "{cost} for {} bytes",
        params.len()
    );
}

#[test]
fn error_responses_decode_to_their_message() {
    let [a, b, c] = encode_error_response(Vec::new(), "boom");
    let payload = [a, b, c].concat();
    let r = decode_response(&payload, false).unwrap();
    assert_eq!(r.outcome, Some(Outcome::Error("boom".into())));
}

fn splice_events() -> Vec<Event> {
    let mut h = Headers::new();
    h.insert("host", "a");
    vec![
        Event::with_headers(h.clone(), vec![7u8; 600]),
        Event::new(&b"short"[..]),
        Event::with_headers(h, vec![9u8; 2000]),
        Event::new(Vec::new()),
        Event::new(vec![1u8; 512]),
    ]
}

#[test]
fn spliced_parameters_are_the_bytes_of_the_copied_encoding() {
    let events = splice_events();
    for message in [Message::AppendBatch, Message::Append] {
        let [_, want] = encode_request(None, message, &events);
        for min in [0, 1, crate::splice::SPLICE_BODY_MIN, 1000, usize::MAX] {
            let mut s = Spliced::default();
            encode_params_spliced(&mut s, message, &events, (min, true));
            assert_eq!(s.to_vec(), want, "{message:?}, splice_min {min}");
            assert_eq!(s.len(), want.len(), "{message:?}, splice_min {min}");
        }
    }
    for message in [Message::AppendBatch, Message::Append] {
        let mut s = Spliced::default();
        encode_params_spliced(&mut s, message, &[], (0, true));
        assert_eq!(s.to_vec(), encode_request(None, message, &[])[1]);
    }
}

#[test]
fn large_bodies_are_spliced_from_the_events_own_memory() {
    let events = splice_events();
    let mut s = Spliced::default();
    encode_params_spliced(&mut s, Message::AppendBatch, &events, (512, true));
    let mut slices = Vec::new();
    s.slices(&mut slices);
    for i in [0, 2, 4] {
        let body = events[i].body.as_ptr();
        assert!(slices.iter().any(|b| b.as_ptr() == body), "body {i} copied");
    }
    assert!(s.capacity() < 600, "bodies went into the buffer");
}
