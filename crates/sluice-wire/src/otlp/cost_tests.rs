//! The cost estimate: an upper bound of what the mapping builds, large for a request whose
//! records share a large resource, small for an SDK's ordinary batch.

use prost::Message;

use super::*;
use crate::otlp::borrowed::from_owned;
use crate::otlp::owned::{
    ExportLogsServiceRequest as Owned, KeyValue as OwnedKv, LogRecord as OwnedRecord, Resource,
    ResourceLogs, ScopeLogs,
};
use crate::otlp::request_events;
use crate::otlp::to_records::string;

/// `records` records of `body_bytes` each and 3 attributes, sharing one resource of
/// `resource_attrs` attributes whose values are `value_bytes` long.
fn batch(records: usize, body_bytes: usize, resource_attrs: usize, value_bytes: usize) -> Owned {
    let kv = |k: String, v: usize| OwnedKv {
        key: k,
        value: Some(string(&"v".repeat(v))),
    };
    let rec = OwnedRecord {
        time_unix_nano: 1_700_000_000_123_456_789,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(string(&"b".repeat(body_bytes))),
        attributes: (0..3).map(|i| kv(format!("code.attr{i}"), 12)).collect(),
        trace_id: vec![0xab; 16],
        span_id: vec![1; 8],
        ..Default::default()
    };
    Owned {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: (0..resource_attrs)
                    .map(|i| kv(format!("service.attribute.{i}"), value_bytes))
                    .collect(),
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![rec; records],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn cost(req: &Owned) -> (usize, u64) {
    let wire = req.encoded_len();
    (wire, mapped_bytes(&from_owned(req).unwrap(), wire))
}

#[test]
fn records_sharing_a_large_resource_cost_it_once_each() {
    // 5,000 records, one resource of 64 KiB of attributes: under 100 KiB on the wire.
    let mut req = batch(1, 0, 64, 1_000);
    req.resource_logs[0].scope_logs[0].log_records = vec![OwnedRecord::default(); 5_000];
    let (wire, cost) = cost(&req);
    eprintln!("amplified: {wire} bytes sent, {cost} bytes decoded");
    assert!(wire < 100 << 10, "{wire}");
    assert!(cost > 5_000 * (64 << 10), "{cost}");
}

#[test]
fn an_sdk_batch_costs_far_less_than_the_default_in_flight_budget() {
    // 5,000 records of 200 B with a resource of 20 attributes (~1 KiB), as an SDK sends.
    let (wire, cost) = cost(&batch(5_000, 200, 20, 30));
    eprintln!("sdk batch: {wire} bytes sent, {cost} bytes decoded");
    assert!(wire < 2 << 20, "{wire}");
    assert!(
        cost < 64 << 20,
        "{cost} bytes: half the default maxInflightBytes"
    );
}

#[test]
fn the_estimate_bounds_the_mapped_events_text() {
    for req in [
        batch(10, 200, 20, 30),
        batch(3, 0, 64, 1_000),
        batch(1, 5, 0, 0),
    ] {
        let (wire, cost) = cost(&req);
        let mapped = request_events(from_owned(&req).unwrap(), 1 << 30);
        let text: usize = mapped.events.iter().map(|e| e.payload_bytes()).sum();
        assert!(mapped.rejected.is_empty());
        assert!((text as u64) <= cost, "{text} > {cost} (wire {wire})");
    }
}
