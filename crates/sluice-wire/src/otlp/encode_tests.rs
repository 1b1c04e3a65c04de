//! The encoder against the sink's former mapping (`to_records.rs`, the owned request of
//! `owned.rs`): the same bytes, decoding (with the owned types' prost decoding, an
//! independent decoder) to the same records, for every header shape the mapping has.

use std::sync::Arc;

use bytes::BytesMut;
use prost::Message;
use sluice_core::Headers;

use super::*;
use crate::otlp::owned::ExportLogsServiceRequest;
use crate::otlp::to_events::request_events;
use crate::otlp::to_records::export_request;

fn event(pairs: &[(&str, &str)], body: &[u8]) -> Event {
    let mut h = Headers::new();
    for (k, v) in pairs {
        h.insert(k, v);
    }
    Event::with_headers(h, body.to_vec())
}

/// The encoder's bytes for `events`, checked to be exactly its announced length.
fn encode(events: &[Event]) -> (Vec<u8>, Vec<usize>) {
    let batch = ExportBatch::new(Arc::from(events.to_vec()));
    let mut buf = BytesMut::new();
    batch.encode(&mut buf);
    assert_eq!(
        buf.len(),
        batch.encoded_len(),
        "encoded_len is what encode writes"
    );
    (buf.to_vec(), batch.order().to_vec())
}

/// Asserts the encoder and the former mapping agree on `events`, byte for byte and decoded.
fn assert_same_as_before(events: &[Event]) {
    let (bytes, order) = encode(events);
    let (old, old_order) = export_request(events);
    let decoded = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded, old, "decoded with the owned types");
    assert_eq!(order, old_order, "record order");
    assert_eq!(
        bytes,
        old.encode_to_vec(),
        "the bytes prost writes for that request"
    );
}

/// Every header shape of the mapping: fields, headers that look like fields but are
/// attributes, resource and scope groups interleaved, empty keys and values.
/// Every header shape the encoder meets: the ordinary ones, then the edges ([`edge_shapes`]).
fn shapes() -> Vec<Event> {
    let mut v = vec![
        event(
            &[
                ("timestamp", "1700000000123"),
                ("host", "a"),
                ("otel.resource.service.name", "shop"),
                ("otel.resource.host.name", "h1"),
                ("otel.scope.name", "app"),
                ("otel.scope.version", "1.2"),
                ("otel.scope.attr.k", "v"),
                ("otel.severity_number", "9"),
                ("otel.severity_text", "INFO"),
                ("otel.trace_id", "abababababababababababababababab"),
                ("otel.span_id", "0101010101010101"),
                ("otel.trace_flags", "1"),
                ("otel.event_name", "e"),
            ],
            b"first",
        ),
        event(
            &[
                ("timestamp", "0123"),
                ("otel.severity_number", "0"),
                ("otel.trace_id", "ABCD"),
                ("otel.span_id", "abc"),
                ("otel.scope.name", ""),
                ("otel.scope.version", ""),
                ("otel.severity_text", ""),
                ("otel.event_name", ""),
                ("otel.trace_flags", "+1"),
            ],
            &[0xff, 0x00],
        ),
        event(&[("otel.resource.service.name", "other")], b""),
        event(
            &[
                ("otel.resource.service.name", "shop"),
                ("otel.resource.host.name", "h1"),
                ("otel.scope.name", "app"),
                ("otel.scope.version", "1.2"),
                ("otel.scope.attr.k", "v"),
            ],
            b"third of the first group",
        ),
    ];
    v.extend(edge_shapes());
    v
}

/// Numbers at their limits, empty keys and values, long bodies, groups coming back.
fn edge_shapes() -> Vec<Event> {
    vec![
        event(
            &[
                ("timestamp", "18446744073709551615"),
                ("otel.severity_number", "-7"),
                ("otel.trace_flags", "4294967296"),
                ("otel.trace_id", "00"),
                ("", "empty key"),
                ("empty value", ""),
            ],
            "é, and a body longer than one varint byte: "
                .repeat(8)
                .as_bytes(),
        ),
        event(
            &[
                ("otel.severity_number", "2147483648"),
                ("otel.trace_flags", "4294967295"),
                ("otel.span_id", "0f0f0f0f0f0f0f0f0f0f"),
                ("otel.scope.attr.only", "x"),
            ],
            &vec![0x80; 20_000],
        ),
        event(
            &[("otel.resource.service.name", "other")],
            b"back to a group",
        ),
        event(&[], b"no headers at all"),
    ]
}

#[test]
fn the_encoder_writes_the_bytes_of_the_former_mapping_for_every_header_shape() {
    assert_same_as_before(&shapes());
}

#[test]
fn an_empty_batch_is_an_empty_request() {
    let (bytes, order) = encode(&[]);
    assert!(bytes.is_empty());
    assert!(order.is_empty());
    assert_same_as_before(&[]);
}

#[test]
fn non_utf8_and_empty_bodies_are_bytes_values_and_no_body() {
    let events = [
        event(&[], &[0xff]),
        event(&[], b"t"),
        event(&[], b""),
        event(&[], &[0xe2, 0x82]),
    ];
    assert_same_as_before(&events);
    let (bytes, _) = encode(&events);
    let req = ExportLogsServiceRequest::decode(bytes.as_slice()).unwrap();
    let recs = &req.resource_logs[0].scope_logs[0].log_records;
    use crate::otlp::owned::any_value::Value;
    let body = |i: usize| recs[i].body.as_ref().and_then(|b| b.value.clone());
    assert_eq!(body(0), Some(Value::BytesValue(vec![0xff])));
    assert_eq!(body(1), Some(Value::StringValue("t".into())));
    assert_eq!(body(2), None);
    assert_eq!(body(3), Some(Value::BytesValue(vec![0xe2, 0x82])));
}

/// A deterministic mix of header shapes and groups, many batches of it.
#[test]
fn mixed_batches_encode_as_the_former_mapping_did() {
    let keys = [
        "timestamp",
        "host",
        "otel.resource.service.name",
        "otel.scope.name",
        "otel.scope.attr.a",
        "otel.severity_number",
        "otel.trace_id",
        "otel.trace_flags",
        "otel.event_name",
        "otel.severity_text",
    ];
    let values = ["1", "0", "1700000000000", "ab", "AB", "", "-3", "x", "0a0b"];
    let mut x = 0x5eed_u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    for _ in 0..50 {
        let events: Vec<Event> = (0..next() % 40)
            .map(|_| {
                let pairs: Vec<(&str, &str)> = (0..next() % 6)
                    .map(|_| (keys[next() % keys.len()], values[next() % values.len()]))
                    .collect();
                let body: &[u8] = [&b"text"[..], &[0xc3][..], &b""[..]][next() % 3];
                event(&pairs, body)
            })
            .collect();
        assert_same_as_before(&events);
    }
}

#[test]
fn events_round_trip_through_the_encoder_and_the_source_exactly() {
    let events = shapes();
    let (bytes, order) = encode(&events);
    let req =
        crate::otlp::borrowed::ExportLogsServiceRequest::decode(bytes::Bytes::from(bytes)).unwrap();
    let back = request_events(req, 1 << 20);
    assert!(back.rejected.is_empty(), "{:?}", back.rejected);
    assert_eq!(back.events.len(), events.len());
    for (got, &i) in back.events.iter().zip(&order) {
        assert_eq!(
            got.headers.to_map(),
            events[i].headers.to_map(),
            "event {i}"
        );
        assert_eq!(got.body, events[i].body, "event {i}");
    }
}
