//! The source's mapping: every field to its header, rejected records named by index.

use super::*;
use crate::otlp::borrowed::from_owned;
use crate::otlp::owned::{
    any_value::Value, AnyValue, ArrayValue, ExportLogsServiceRequest, InstrumentationScope,
    KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs,
};
use crate::otlp::to_records::string;

/// `req` as the source decodes it.
pub(super) fn received(req: &ExportLogsServiceRequest) -> super::ExportLogsServiceRequest {
    from_owned(req).unwrap()
}

fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
    }
}

pub(super) fn sample() -> ExportLogsServiceRequest {
    let rec = LogRecord {
        time_unix_nano: 1_700_000_000_123_456_789,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(string("hello")),
        attributes: vec![
            kv("user", string("ann")),
            kv(
                "n",
                AnyValue {
                    value: Some(Value::IntValue(3)),
                },
            ),
        ],
        trace_id: vec![0xab; 16],
        span_id: vec![0x01; 8],
        flags: 1,
        event_name: "login".into(),
        ..Default::default()
    };
    let mut deep = string("x");
    for _ in 0..40 {
        deep = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values: vec![deep] })),
        };
    }
    let bad = LogRecord {
        body: Some(deep),
        ..Default::default()
    };
    let observed = LogRecord {
        observed_time_unix_nano: 2_000_000,
        body: Some(AnyValue {
            value: Some(Value::BytesValue(vec![0, 1, 2])),
        }),
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string("shop"))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "app".into(),
                    version: "1.2".into(),
                    attributes: vec![kv("lib", string("x"))],
                    ..Default::default()
                }),
                log_records: vec![rec, bad, observed],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn every_field_of_a_record_becomes_its_header() {
    let m = request_events(received(&sample()), 1 << 20);
    assert_eq!(m.events.len(), 2);
    let e = &m.events[0];
    assert_eq!(&e.body[..], b"hello");
    let h = |k: &str| e.headers.get(k).map(str::to_owned);
    assert_eq!(h("timestamp").as_deref(), Some("1700000000123"));
    assert_eq!(h("otel.severity_text").as_deref(), Some("INFO"));
    assert_eq!(h("otel.severity_number").as_deref(), Some("9"));
    assert_eq!(
        h("otel.trace_id").as_deref(),
        Some("abababababababababababababababab")
    );
    assert_eq!(h("otel.span_id").as_deref(), Some("0101010101010101"));
    assert_eq!(h("otel.trace_flags").as_deref(), Some("1"));
    assert_eq!(h("otel.event_name").as_deref(), Some("login"));
    assert_eq!(h("otel.scope.name").as_deref(), Some("app"));
    assert_eq!(h("otel.scope.version").as_deref(), Some("1.2"));
    assert_eq!(h("otel.scope.attr.lib").as_deref(), Some("x"));
    assert_eq!(h("otel.resource.service.name").as_deref(), Some("shop"));
    assert_eq!(h("user").as_deref(), Some("ann"));
    assert_eq!(h("n").as_deref(), Some("3"));
    assert_eq!(e.headers.len(), 13);
    let o = &m.events[1];
    assert_eq!(&o.body[..], &[0, 1, 2]);
    assert_eq!(o.headers.get("timestamp"), Some("2"));
}

#[test]
fn a_record_that_cannot_be_an_event_is_rejected_by_index_and_the_rest_kept() {
    let m = request_events(received(&sample()), 1 << 20);
    assert_eq!(m.rejected.len(), 1);
    assert_eq!(m.rejected[0].index, 1);
    assert!(
        m.rejected[0].reason.to_string().contains("nested deeper"),
        "{}",
        m.rejected[0].reason
    );
    let small = request_events(received(&sample()), 120);
    assert_eq!(
        small.events.len(),
        1,
        "only the bytes record fits in 120 bytes"
    );
    assert_eq!(small.rejected.len(), 2);
    assert!(small.rejected[0]
        .reason
        .to_string()
        .contains("maxEventBytes"));
    assert!(matches!(
        small.rejected[0].reason,
        RecordError::TooLarge { max: 120, .. }
    ));
}

#[test]
fn a_string_that_is_not_utf8_rejects_its_record_alone() {
    use crate::otlp::borrowed::Value as Received;
    let mut req = received(&sample());
    let records = &mut req.resource_logs[0].scope_logs[0].log_records;
    let user = records[0].attributes[0].value.as_mut().unwrap();
    user.value = Some(Received::StringValue(bytes::Bytes::from_static(&[
        b'a', 0xff,
    ])));
    let m = request_events(req, 1 << 20);
    let indexes: Vec<usize> = m.rejected.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        vec![0, 1],
        "the bad string's record and the deep one"
    );
    assert!(matches!(
        &m.rejected[0].reason,
        RecordError::Attribute { key, source: ValueError::NotUtf8 } if key == "user"
    ));
    let reason = m.rejected[0].reason.to_string();
    assert!(
        reason.contains("\"user\"") && reason.contains("UTF-8"),
        "{reason}"
    );
    assert_eq!(m.events.len(), 1);
    assert_eq!(&m.events[0].body[..], &[0, 1, 2]);
}

#[test]
fn a_body_is_a_slice_of_the_received_buffer_not_a_copy() {
    use prost::Message;
    let buf = bytes::Bytes::from(sample().encode_to_vec());
    let inside = buf.as_ptr_range();
    let req = crate::otlp::borrowed::ExportLogsServiceRequest::decode(buf.clone()).unwrap();
    let m = request_events(req, 1 << 20);
    assert_eq!(&m.events[0].body[..], b"hello");
    assert!(inside.contains(&m.events[0].body.as_ptr()));
    assert!(inside.contains(&m.events[1].body.as_ptr()));
}
