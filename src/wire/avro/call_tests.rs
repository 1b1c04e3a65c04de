//! Tests of the call codec: limits refused before decoding, the counted bytes, error responses.

use super::*;

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
    use crate::wire::cost::{EVENT_COST_BYTES, HEADER_COST_BYTES};
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
