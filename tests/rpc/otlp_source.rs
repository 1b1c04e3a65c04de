//! The `otlp` source in a real agent process, fed by the OpenTelemetry Python SDK (its
//! `LoggerProvider` and `BatchLogRecordProcessor` with the OTLP gRPC and HTTP/protobuf
//! exporters) and by a raw OTLP/JSON POST: every record arrives once in file_roll's output,
//! and a second file channel, read back after a SIGKILL, holds every record with its body and
//! attributes as sent (so what the exporters were told was accepted was on disk).

use crate::support::multihop::{logs_of, wait_for_all, Proc};
use crate::support::otel_support::*;
use crate::support::ports::free_port;

/// Nanoseconds of record 0 in otel_send.py.
const TIME_NS: u64 = 1_700_000_000_123_456_789;

fn conf(root: &std::path::Path, grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1 c2\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1 c2");
    c += &otlp_source("a", "h", "http", http, "c1 c2");
    c += &file_channel(root, "a", "c1");
    c += &file_channel(root, "a", "c2");
    c += &format!(
        "a.sinks.k1.type = file_roll\na.sinks.k1.channel = c1\n\
         a.sinks.k1.sink.directory = {}/a/out\na.sinks.k1.sink.rollInterval = 0\n",
        root.display()
    );
    c
}

fn bodies(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{i} ü")).collect()
}

#[test]
fn sdk_records_over_grpc_http_protobuf_and_json_arrive_with_their_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("a/out")).unwrap();
    let (grpc, http) = (free_port(), free_port());
    let mut agent = Proc::start(root, "a", &conf(root, grpc, http), grpc, &[]);
    let n = 250;
    for (mode, port) in [("grpc", grpc), ("http", http)] {
        let r = send(mode, port, n, mode);
        assert_eq!(r["exported"], n, "{mode}: {r}\n{}", logs_of([&agent]));
        assert_eq!(r["failed"], 0, "{mode}: {r}");
    }
    let r = send("json", http, 5, "json");
    assert_eq!(r["status"], 200, "{r}");
    let partial = &r["response"]["partialSuccess"];
    assert_eq!(partial["rejectedLogRecords"], 1, "{r}");
    let why = partial["errorMessage"].as_str().unwrap_or_default();
    assert!(
        why.contains("record 5") && why.contains("nested deeper"),
        "{why}"
    );
    let mut want = bodies("grpc", n);
    want.extend(bodies("http", n));
    want.extend(bodies("json", 5));
    let got = wait_for_all(&[root.join("a/out")], &want, &[&agent]);
    assert_eq!(got.len(), want.len(), "each record once");
    agent.kill9();
    let queued = dump(root, "a", "c2");
    assert_eq!(queued.len(), want.len());
    for (headers, body) in &queued {
        let (tag, i) = body
            .trim_end_matches(" ü")
            .split_once('-')
            .unwrap_or_else(|| panic!("body {body:?}"));
        let i: u64 = i.parse().unwrap();
        let h = |k: &str| {
            headers[k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} in {headers}"))
        };
        assert_eq!(h("i"), i.to_string(), "{headers}");
        assert_eq!(h("user"), "ann");
        assert_eq!(h("ok"), "true");
        assert_eq!(h("ratio"), "0.5");
        assert_eq!(
            h("timestamp"),
            ((TIME_NS + i * 1_000_000) / 1_000_000).to_string()
        );
        assert_eq!(h("otel.severity_number"), "9");
        assert_eq!(h("otel.severity_text"), "INFO");
        assert_eq!(h("otel.resource.service.name"), "shop");
        assert_eq!(h("otel.scope.name"), "app.scope");
        assert_eq!(h("otel.scope.version"), "1.2");
        if tag == "json" {
            assert_eq!(h("otel.trace_id"), "5b8efff798038103d269b633813fc60c");
            assert_eq!(h("otel.span_id"), "eee19b7ec3c1b174");
        } else {
            assert_eq!(h("otel.resource.telemetry.sdk.language"), "python");
        }
    }
}
