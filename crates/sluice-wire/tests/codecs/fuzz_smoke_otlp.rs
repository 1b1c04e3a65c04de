//! A bounded, deterministic smoke run of the `otlp_request` and `line_split` fuzz targets'
//! bodies (`fuzz/src/otlp_request.rs`, `fuzz/src/line_split.rs`, included by path): seeded
//! random bytes and mutations of valid requests and streams, none of which may panic. The real
//! fuzzing is `cargo fuzz run otlp_request` (or `line_split`) in `fuzz/`.

#[path = "../../../../fuzz/src/line_split.rs"]
mod line_split;
#[path = "../../../../fuzz/src/otlp_request.rs"]
mod otlp_request;

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use sluice_core::Event;
use sluice_wire::otlp::borrowed::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, KeyValueList,
    LogRecord, Resource, ResourceLogs, ScopeLogs, Value,
};
use sluice_wire::otlp::ExportBatch;

use super::smoke_rng::XorShift as Rng;

impl Rng {
    /// Flips, truncates, overwrites, duplicates or inserts a few bytes of `seed`.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            if b.is_empty() {
                break;
            }
            let i = self.below(b.len());
            match self.below(5) {
                0 => b[i] ^= 1 << self.below(8),
                1 => b.truncate(i),
                2 => b[i] = [0, 0x0A, 0x12, 0x7F, 0x80, 0xFF][self.below(6)],
                3 => {
                    let dup = b[i..].to_vec();
                    b.extend(dup);
                }
                _ => {
                    let extra: Vec<u8> = (0..self.below(8)).map(|_| self.next() as u8).collect();
                    b.splice(i..i, extra);
                }
            }
        }
        b
    }
}

fn text(s: &'static str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(Bytes::from_static(s.as_bytes()))),
    })
}

fn kv(k: &'static str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: Bytes::from_static(k.as_bytes()),
        value,
    }
}

/// An array nested 40 deep (deeper than the mapping follows) and a key-value list of an
/// int, a NaN and bytes.
fn nested_values() -> (Option<AnyValue>, Option<AnyValue>) {
    let mut deep = text("leaf");
    for _ in 0..40 {
        deep = Some(AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: deep.into_iter().collect(),
            })),
        });
    }
    let list = Some(AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: vec![
                kv(
                    "n",
                    Some(AnyValue {
                        value: Some(Value::IntValue(-3)),
                    }),
                ),
                kv(
                    "d",
                    Some(AnyValue {
                        value: Some(Value::DoubleValue(f64::NAN)),
                    }),
                ),
                kv(
                    "b",
                    Some(AnyValue {
                        value: Some(Value::BytesValue(Bytes::from_static(&[0, 255]))),
                    }),
                ),
            ],
        })),
    });
    (deep, list)
}

/// A request with every field the mapping reads, a structured body, a value nested too deep
/// and a string that is not UTF-8.
fn rich_request() -> Vec<u8> {
    let (deep, list) = nested_values();
    let record = |body: Option<AnyValue>| LogRecord {
        time_unix_nano: 1_700_000_000_123_456_789,
        severity_number: 9,
        severity_text: Bytes::from_static(b"INFO"),
        body,
        attributes: vec![
            kv("user", text("ann")),
            kv(
                "flag",
                Some(AnyValue {
                    value: Some(Value::BoolValue(true)),
                }),
            ),
        ],
        trace_id: Bytes::from_static(&[0xAB; 16]),
        span_id: Bytes::from_static(&[1; 8]),
        flags: 1,
        event_name: Bytes::from_static(b"login"),
        ..LogRecord::default()
    };
    let bad = Some(AnyValue {
        value: Some(Value::StringValue(Bytes::from_static(&[b'a', 0xFF]))),
    });
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", text("web"))],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: Bytes::from_static(b"lib"),
                    version: Bytes::from_static(b"1.0"),
                    attributes: vec![kv("k", text("v"))],
                    ..InstrumentationScope::default()
                }),
                log_records: vec![
                    record(text("hello")),
                    record(list),
                    record(deep),
                    record(bad),
                ],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

/// What the sink's encoder writes for events of several resources and scopes.
fn sink_request() -> Vec<u8> {
    let events: Vec<Event> = vec![
        Event::new(b"one".to_vec())
            .header("otel.resource.service.name", "a")
            .header("otel.scope.name", "s")
            .header("timestamp", "1700000000123")
            .header("otel.trace_id", "0123456789abcdef0123456789abcdef"),
        Event::new(vec![0xFF, 0]).header("otel.resource.service.name", "b"),
        Event::new(Vec::new())
            .header("timestamp", "0123")
            .header("x", ""),
    ];
    let batch = ExportBatch::new(Arc::from(events));
    let mut out = Vec::new();
    batch.encode(&mut out);
    out
}

#[test]
fn otlp_requests_survive_random_and_mutated_bytes_and_map_back_from_the_encoder() {
    let seeds = [rich_request(), sink_request()];
    for seed in &seeds {
        otlp_request::run(seed);
    }
    let mut rng = Rng(0x071B_5EED);
    for _ in 0..3_000 {
        let input = if rng.below(5) == 0 {
            (0..rng.below(200)).map(|_| rng.next() as u8).collect()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            rng.mutate(seed)
        };
        otlp_request::run(&input);
    }
}

const LINE_SEEDS: &[&[u8]] = &[
    b"alpha\r\nbeta\n\ngamma delta\nlast",
    b"a line that is longer than most limits the first byte picks, and more\nshort\n",
    b"\r\r\n\n\r\nx\ry\r",
];

#[test]
fn line_splitting_survives_random_and_mutated_streams() {
    let mut rng = Rng(0x0115_5EED);
    for _ in 0..3_000 {
        let mut input = vec![rng.next() as u8, rng.next() as u8];
        if rng.below(4) == 0 {
            input.extend(
                (0..rng.below(300)).map(|_| [b'a', b'\n', b'\r', rng.next() as u8][rng.below(4)]),
            );
        } else {
            let seed = LINE_SEEDS[rng.below(LINE_SEEDS.len())];
            input.extend(rng.mutate(seed));
        }
        line_split::run(&input);
    }
}
