//! What an `otlp` request costs once decoded, in a real agent process: a small request whose
//! 5,000 records share one resource of 64 KiB of attributes (copied into each record's event:
//! 320 MiB of headers from 74 KiB on the wire) is refused, over HTTP with 413 and over gRPC
//! with `RESOURCE_EXHAUSTED`, both naming `maxInflightBytes` and the decoded size, before it
//! costs the agent memory (its peak RSS grows by less than [`HWM_GROWTH_MAX_MIB`]); and an
//! SDK's ordinary batch (5,000 records of 200 B with a resource of 20 attributes) is accepted
//! with the default limits, over both.

use std::io::{Read, Write};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::support::hostile_support::vm_hwm_mib;
use crate::support::multihop::Proc;
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// A generous bound on the agent's peak RSS growth while refusing amplified requests (today's
/// main grew by 1,187 MiB for one of them).
const HWM_GROWTH_MAX_MIB: u64 = 200;

/// gRPC `g` and HTTP `h` with default limits -> a memory channel with room for two batches
/// (one put per request) -> null.
fn conf(grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 20000\n\
          a.channels.c1.transactionCapacity = 10000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\n";
    c
}

fn string(s: String) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(s)),
    })
}

/// `records` records with a body of `body_bytes` and 3 attributes, sharing one resource of
/// `attrs` attributes of `value_bytes` each.
fn batch(
    records: usize,
    body_bytes: usize,
    attrs: usize,
    value_bytes: usize,
) -> ExportLogsServiceRequest {
    let kv = |k: String, v: String| KeyValue {
        key: k,
        value: string(v),
    };
    let rec = |i: usize| LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: string(format!("{i:0>body_bytes$}")),
        attributes: vec![
            kv("code.function".into(), "handle_request".into()),
            kv("code.lineno".into(), "128".into()),
            kv("thread.name".into(), "worker-3".into()),
        ],
        trace_id: vec![0xab; 16],
        span_id: vec![0x01; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: (0..attrs)
                    .map(|i| kv(format!("service.attr.{i:02}"), "v".repeat(value_bytes)))
                    .collect(),
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..records).map(rec).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// 5,000 records sharing a resource of 64 attributes of 1 KiB: about 74 KiB on the wire.
fn amplified() -> ExportLogsServiceRequest {
    let mut req = batch(1, 0, 64, 1_000);
    req.resource_logs[0].scope_logs[0].log_records = vec![LogRecord::default(); 5_000];
    req
}

/// As the OpenTelemetry SDK sends: 5,000 records of 200 B, a resource of 20 attributes
/// (~1 KiB).
fn ordinary() -> ExportLogsServiceRequest {
    batch(5_000, 200, 20, 36)
}

/// One HTTP/1.1 protobuf POST on its own connection: (status, the whole answer).
fn post(port: u16, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sharing_a_large_resource_are_refused_before_they_cost_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    agent.wait_until("http listening", || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let req = amplified();
    let wire = req.encode_to_vec();
    assert!(wire.len() < 80 << 10, "{}", wire.len());
    let hwm0 = vm_hwm_mib(agent.child.id());
    for _ in 0..3 {
        let w = wire.clone();
        let (code, text) = tokio::task::spawn_blocking(move || post(http, &w))
            .await
            .unwrap();
        assert_eq!(code, 413, "{text}\n{}", agent.log_text());
        assert!(
            text.contains("maxInflightBytes") && text.contains("decoded"),
            "names the limit and the decoded size: {text}"
        );
    }
    let mut client = LogsServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    for _ in 0..3 {
        let refused = client.export(req.clone()).await.unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::ResourceExhausted,
            "{refused:?}"
        );
        assert!(
            refused.message().contains("maxInflightBytes"),
            "{refused:?}"
        );
    }
    let hwm = vm_hwm_mib(agent.child.id());
    eprintln!(
        "VmHWM {hwm0} -> {hwm} MiB after 6 amplified requests of {} bytes",
        wire.len()
    );
    assert!(
        hwm.saturating_sub(hwm0) < HWM_GROWTH_MAX_MIB,
        "VmHWM {hwm0} -> {hwm} MiB"
    );
    // The source still takes an ordinary request.
    let small = client.export(batch(10, 20, 3, 10)).await;
    assert!(small.is_ok(), "{small:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_sized_batch_is_accepted_with_the_default_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    agent.wait_until("http listening", || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let req = ordinary();
    let wire = req.encode_to_vec();
    let (code, text) = tokio::task::spawn_blocking(move || post(http, &wire))
        .await
        .unwrap();
    assert_eq!(code, 200, "{text}\n{}", agent.log_text());
    let mut client = LogsServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    let answer = client.export(req).await;
    let answer = answer.unwrap_or_else(|e| panic!("{e:?}\n{}", agent.log_text()));
    assert!(answer.get_ref().partial_success.is_none(), "{answer:?}");
}
