//! The sink's mapping: the reverse of the source's, so events round-trip exactly.

use super::*;
use crate::otlp::to_events::request_events;
use sluice_core::Headers;

fn event(pairs: &[(&str, &str)], body: &[u8]) -> Event {
    let mut h = Headers::new();
    for (k, v) in pairs {
        h.insert(k, v);
    }
    Event::with_headers(h, body.to_vec())
}

#[test]
fn events_round_trip_through_a_request_exactly() {
    let events = vec![
        event(
            &[
                ("timestamp", "1700000000123"),
                ("host", "a"),
                ("otel.resource.service.name", "shop"),
                ("otel.scope.name", "app"),
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
        // Headers that look like fields but would not come back from them stay attributes.
        event(
            &[
                ("timestamp", "0123"),
                ("otel.severity_number", "0"),
                ("otel.trace_id", "ABCD"),
                ("otel.scope.name", ""),
                ("otel.severity_text", ""),
            ],
            &[0xff, 0x00],
        ),
        event(&[("otel.resource.service.name", "other")], b""),
        event(
            &[
                ("otel.resource.service.name", "shop"),
                ("otel.scope.name", "app"),
            ],
            b"third of the first group",
        ),
    ];
    let (req, order) = export_request(&events);
    assert_eq!(req.resource_logs.len(), 3, "three resources");
    assert_eq!(
        order,
        vec![0, 3, 1, 2],
        "records grouped by resource and scope"
    );
    let back = request_events(crate::otlp::borrowed::from_owned(&req).unwrap(), 1 << 20);
    assert!(back.rejected.is_empty());
    let got: Vec<&Event> = back.events.iter().collect();
    for (pos, &i) in order.iter().enumerate() {
        assert_eq!(
            got[pos].headers.to_map(),
            events[i].headers.to_map(),
            "event {i}"
        );
        assert_eq!(got[pos].body, events[i].body, "event {i}");
    }
}

#[test]
fn a_non_utf8_body_is_a_bytes_value_and_text_a_string_value() {
    let (req, _) = export_request(&[event(&[], &[0xff]), event(&[], b"t")]);
    let recs = &req.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(
        recs[0].body.as_ref().and_then(|b| b.value.clone()),
        Some(Value::BytesValue(vec![0xff]))
    );
    assert_eq!(recs[1].body, Some(string("t")));
}
