//! What the `otlp` source refuses, and how, in a real agent process: a full channel answers
//! gRPC `UNAVAILABLE` and HTTP 503 with `Retry-After` (and nothing of that request is kept),
//! the traces and metrics services are refused naming the logs service, a request over
//! `maxRequestBytes` (plain or as a gzip bomb) is refused, a body that is not OTLP is a 400.

use std::io::{Read, Write};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use prost::Message;

use crate::support::multihop::Proc;
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// Memory channel of 30 events with no sink and no keep-alive wait: the second request of 20
/// records finds it full.
fn conf(grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += "a.sources.g.maxRequestBytes = 65536\na.sources.h.maxRequestBytes = 65536\n";
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 30\n\
          a.channels.c1.transactionCapacity = 30\na.channels.c1.keep-alive = 0\n";
    c
}

fn request(n: usize, body_bytes: usize) -> ExportLogsServiceRequest {
    let rec = |i: usize| LogRecord {
        body: Some(AnyValue {
            value: Some(Value::StringValue(format!("{i:0>body_bytes$}"))),
        }),
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: (0..n).map(rec).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One HTTP/1.1 POST on its own connection: (status, the whole answer).
fn post(port: u16, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
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

const PROTOBUF: &str = "Content-Type: application/x-protobuf\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_channel_is_unavailable_and_other_signals_and_bad_bodies_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    let mut client = LogsServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    let first = client.export(request(20, 10)).await;
    assert!(first.is_ok(), "{first:?}\n{}", agent.log_text());
    let full = client.export(request(20, 10)).await.unwrap_err();
    assert_eq!(full.code(), tonic::Code::Unavailable, "{full:?}");
    let (code, answer) = tokio::task::spawn_blocking(move || {
        post(http, "/v1/logs", PROTOBUF, &request(20, 10).encode_to_vec())
    })
    .await
    .unwrap();
    assert_eq!(code, 503, "{answer}");
    assert!(
        answer.contains("Retry-After: 2") || answer.contains("retry-after: 2"),
        "{answer}"
    );
    // Ten records still fit: nothing of the refused requests was kept.
    let fits = client.export(request(10, 10)).await;
    assert!(fits.is_ok(), "{fits:?}");
    let big = client.export(request(10, 10_000)).await.unwrap_err();
    assert_eq!(
        big.code(),
        tonic::Code::OutOfRange,
        "tonic's limit: {big:?}"
    );
    assert!(big.message().contains("too large"), "{big:?}");
    let checks = tokio::task::spawn_blocking(move || http_refusals(http)).await;
    assert!(checks.is_ok(), "{}", agent.log_text());
    let traces = raw_grpc_status(
        grpc,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    )
    .await;
    assert!(traces.contains("logs only"), "{traces}");
}

/// The HTTP side's refusals, each naming what it accepts.
fn http_refusals(http: u16) {
    let (code, text) = post(http, "/v1/traces", PROTOBUF, b"");
    assert_eq!(code, 404, "{text}");
    assert!(
        text.contains("logs only") && text.contains("/v1/logs"),
        "{text}"
    );
    let (code, text) = post(http, "/v1/logs", "Content-Type: text/plain\r\n", b"x");
    assert_eq!(code, 415, "{text}");
    let (code, text) = post(http, "/v1/logs", PROTOBUF, b"\xff\xff\xff");
    assert_eq!(code, 400, "{text}");
    let (code, text) = post(http, "/v1/logs", PROTOBUF, &vec![0u8; 70_000]);
    assert_eq!(code, 413, "{text}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 10 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 65536);
    let (code, text) = post(
        http,
        "/v1/logs",
        &format!("{PROTOBUF}Content-Encoding: gzip\r\n"),
        &bomb,
    );
    assert_eq!(code, 413, "a gzip bomb: {text}");
    assert!(text.contains("decompresses"), "{text}");
}

/// The `grpc-message` a gRPC call of `path` is answered with.
async fn raw_grpc_status(port: u16, path: &str) -> String {
    let mut ch = tonic::client::Grpc::new(
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    ch.ready().await.unwrap();
    let codec =
        tonic_prost::ProstCodec::<ExportLogsServiceRequest, ExportLogsServiceRequest>::default();
    let r: Result<tonic::Response<ExportLogsServiceRequest>, tonic::Status> = ch
        .unary(
            tonic::Request::new(ExportLogsServiceRequest::default()),
            path.parse().unwrap(),
            codec,
        )
        .await;
    match r {
        Ok(_) => "answered OK".into(),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    }
}

/// A gRPC request body that sends a message header announcing 1000 bytes, 10 of them, and
/// then nothing more, never ending.
struct Stall(bool);

impl hyper::body::Body for Stall {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.0 {
            return std::task::Poll::Pending;
        }
        self.0 = true;
        let mut b = vec![0u8, 0, 0, 3, 232];
        b.extend_from_slice(&[0x0a; 10]);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes::Bytes::from(b)))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_grpc_writer_is_answered_at_request_timeout_while_others_export() {
    let tmp = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let mut c = String::from("a.sources = g\na.channels = c1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += "a.sources.g.requestTimeout = 1000\na.channels.c1.type = memory\n";
    let agent = Proc::start(tmp.path(), "a", &c, grpc, &[]);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", grpc))
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::post(format!(
        "http://127.0.0.1:{grpc}/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(Stall(false))
    .unwrap();
    let stalled = tokio::spawn(async move {
        use http_body_util::BodyExt;
        let resp = send.send_request(req).await.unwrap();
        let head = resp.headers().clone();
        let trailers = resp
            .into_body()
            .collect()
            .await
            .ok()
            .and_then(|b| b.trailers().cloned());
        let status = |h: &hyper::HeaderMap| {
            h.get("grpc-status")
                .map(|v| v.to_str().unwrap_or("").to_owned())
        };
        status(&head).or_else(|| trailers.as_ref().and_then(status))
    });
    let mut client = LogsServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    let other = client.export(request(5, 10)).await;
    assert!(
        other.is_ok(),
        "another connection exports meanwhile: {other:?}"
    );
    let answer = tokio::time::timeout(Duration::from_secs(60), stalled)
        .await
        .unwrap_or_else(|_| panic!("the stalled call was never answered\n{}", agent.log_text()))
        .unwrap();
    let code = answer.expect("a grpc-status");
    assert_ne!(code, "0", "a body that never arrived is not OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_filter_rules_close_a_denied_peers_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let (open, shut) = (free_port(), free_port());
    let mut c = String::from("a.sources = o s\na.channels = c1\n");
    c += &otlp_source("a", "o", "grpc", open, "c1");
    c += &otlp_source("a", "s", "grpc", shut, "c1");
    c += "a.sources.o.ipFilter = true\na.sources.o.ipFilterRules = allow:ip:127.*,deny:ip:*\n";
    c += "a.sources.s.ipFilter = true\na.sources.s.ipFilterRules = deny:ip:127.*\n";
    c += "a.channels.c1.type = memory\n";
    let agent = Proc::start(tmp.path(), "a", &c, open, &[]);
    let mut allowed = LogsServiceClient::connect(format!("http://127.0.0.1:{open}"))
        .await
        .unwrap();
    let ok = allowed.export(request(3, 10)).await;
    assert!(ok.is_ok(), "{ok:?}\n{}", agent.log_text());
    // The denied source listens (the kernel completes the connect; the source then closes it).
    agent.wait_until("s listening", || {
        std::net::TcpStream::connect(("127.0.0.1", shut)).is_ok()
    });
    let refused = async {
        let mut c = LogsServiceClient::connect(format!("http://127.0.0.1:{shut}")).await?;
        c.export(request(3, 10))
            .await
            .map_err(Into::into)
            .map(|_| ())
    };
    let r: Result<(), Box<dyn std::error::Error>> =
        tokio::time::timeout(Duration::from_secs(60), refused)
            .await
            .expect("an answer");
    assert!(r.is_err(), "a denied peer exported");
}
