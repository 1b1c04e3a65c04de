//! The decode-cost walk against requests built with the decode's own types.

use bytes::Bytes;
use prost::Message;

use super::*;
use crate::agent::otlp::borrowed::{ArrayValue, ExportLogsServiceRequest, Resource, Value};

fn kv(key: &'static str) -> KeyValue {
    KeyValue {
        key: Bytes::from_static(key.as_bytes()),
        value: Some(AnyValue {
            value: Some(Value::StringValue(Bytes::from_static(b"v"))),
        }),
    }
}

fn request(records: Vec<LogRecord>, resource_attrs: Vec<KeyValue>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource_attrs,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn twice<T>(n: usize) -> u64 {
    2 * (n * size_of::<T>()) as u64
}

#[test]
fn every_element_of_a_repeated_field_is_counted_at_twice_its_size() {
    let rec = LogRecord {
        severity_text: Bytes::from_static(b"INFO"),
        body: Some(AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![AnyValue::default(); 3],
            })),
        }),
        attributes: vec![kv("a"), kv("b")],
        ..Default::default()
    };
    let req = request(vec![rec; 10], vec![kv("service.name")]);
    let cost = decoded_bytes(&req.encode_to_vec()).unwrap();
    let want = twice::<ResourceLogs>(1)
        + twice::<ScopeLogs>(1)
        + twice::<KeyValue>(1 + 10 * 2)
        + twice::<LogRecord>(10)
        + twice::<AnyValue>(10 * 3);
    assert_eq!(cost, want);
}

#[test]
fn eight_mb_of_empty_attributes_cost_more_than_half_a_gib() {
    let attrs = vec![KeyValue::default(); 4 << 20];
    let wire = request(vec![LogRecord::default()], attrs).encode_to_vec();
    assert!(wire.len() <= 8_400_000, "{}", wire.len());
    let cost = decoded_bytes(&wire).unwrap();
    assert!(cost > 512 << 20, "{cost}");
}

#[test]
fn bytes_that_are_not_a_request_stop_the_walk() {
    let wire = request(vec![LogRecord::default(); 2], vec![kv("k")]).encode_to_vec();
    let cut = &wire[..wire.len() - 1];
    assert!(matches!(decoded_bytes(cut), Err(ScanError::Truncated(_))));
    assert!(matches!(
        decoded_bytes(&[0x0b]),
        Err(ScanError::WireType(1, 3))
    ));
    // Arrays in arrays, deeper than the decode goes.
    let mut v = AnyValue::default();
    for _ in 0..DEPTH_MAX {
        v = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
        };
    }
    let rec = LogRecord {
        body: Some(v),
        ..Default::default()
    };
    let deep = request(vec![rec], vec![]).encode_to_vec();
    assert_eq!(decoded_bytes(&deep), Err(ScanError::TooDeep));
    assert!(ExportLogsServiceRequest::decode(&deep[..]).is_err());
}

#[test]
fn unknown_fields_are_skipped_as_the_decode_skips_them() {
    // Field 15, length-delimited, 3 bytes; then field 14 varint; then an empty resource_logs.
    let wire = [0x7a, 3, 1, 2, 3, 0x70, 0x96, 0x01, 0x0a, 0x00];
    assert_eq!(decoded_bytes(&wire), Ok(twice::<ResourceLogs>(1)));
    let decoded = ExportLogsServiceRequest::decode(&wire[..]).unwrap();
    assert_eq!(decoded.resource_logs.len(), 1);
}
