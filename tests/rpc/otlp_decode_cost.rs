//! What an `otlp` request costs to **decode**, in a real agent process (issue 80, item 7):
//! requests of at most 8 MB made of tiny repeated fields (empty attributes, empty records,
//! empty array values; protobuf over gRPC and HTTP, and JSON), each of which decodes into
//! hundreds of MiB of structs, are refused before they are decoded (`RESOURCE_EXHAUSTED` /
//! 413, naming `maxInflightBytes` and the decode cost), and the agent's peak RSS grows by less
//! than [`HWM_GROWTH_MAX_MIB`] over all of them (round 5 measured +579 MiB, +1,543 MiB and
//! +602 MiB); an ordinary export is still answered `OK` and 200 after them.

use std::time::Duration;

use bytes::{Buf, BufMut};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::encoding::{DecodeContext, WireType};

use crate::support::hostile_support::vm_hwm_mib;
use crate::support::multihop::Proc;
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;

/// The issue's bound on what one request may cost.
const HWM_GROWTH_MAX_MIB: u64 = 256;
/// Largest request sent.
const WIRE_MAX: usize = 8_000_000;

/// gRPC `g` and HTTP `h` with default limits -> memory channel -> null.
fn conf(grpc: u16, http: u16) -> String {
    let mut c = String::from("a.sources = g h\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 20000\n\
          a.channels.c1.transactionCapacity = 10000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\n";
    c
}

fn varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Field `tag` (length-delimited) holding `inner`.
fn field(tag: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![(tag << 3) | 2];
    varint(&mut out, inner.len());
    out.extend_from_slice(inner);
    out
}

/// `n` empty occurrences of length-delimited field `tag`, as many as fit in `WIRE_MAX` less
/// some room for the envelope.
fn empties(tag: u8) -> Vec<u8> {
    [(tag << 3) | 2, 0].repeat((WIRE_MAX - 64) / 2)
}

/// A request whose one scope holds `scope` (its fields' bytes).
fn request(scope: &[u8]) -> Vec<u8> {
    field(1, &field(2, scope))
}

/// The protobuf attacks: (what, bytes).
fn protobuf_attacks() -> Vec<(&'static str, Vec<u8>)> {
    let attributes = request(&field(2, &empties(6)));
    let records = request(&empties(2));
    let values = request(&field(2, &field(5, &field(5, &empties(1)))));
    vec![
        ("empty attributes", attributes),
        ("empty records", records),
        ("empty array values", values),
    ]
}

/// The JSON attacks: (what, bytes).
fn json_attacks() -> Vec<(&'static str, Vec<u8>)> {
    let many = |open: &str, close: &str| {
        let mut t = String::from(open);
        t.push_str(&"{},".repeat((WIRE_MAX - 200) / 3));
        t.push_str("{}");
        t.push_str(close);
        t.into_bytes()
    };
    let scope = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":["#;
    vec![
        (
            "JSON attributes",
            many(&format!(r#"{scope}{{"attributes":["#), "]}]}]}]}"),
        ),
        ("JSON records", many(scope, "]}]}]}")),
        (
            "JSON array values",
            many(
                &format!(r#"{scope}{{"body":{{"arrayValue":{{"values":["#),
                "]}}}]}]}]}",
            ),
        ),
    ]
}

/// One HTTP/1.1 POST of `body` as `content_type` on its own connection: (status, answer).
fn post(port: u16, content_type: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok());
    (code.unwrap_or(0), text)
}

/// A message whose encoding is the bytes it holds (to send a request built by hand).
#[derive(Clone, Debug, Default, PartialEq)]
struct Raw(Vec<u8>);

impl prost::Message for Raw {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// One gRPC export of `wire`: `Ok` or the status.
async fn export(port: u16, wire: Vec<u8>) -> Result<(), tonic::Status> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"));
    let mut ch = tonic::client::Grpc::new(endpoint.unwrap().connect().await.unwrap())
        .max_encoding_message_size(usize::MAX);
    ch.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<Raw, ExportLogsServiceResponse>::default();
    let path = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    ch.unary(tonic::Request::new(Raw(wire)), path.parse().unwrap(), codec)
        .await
        .map(drop)
}

/// An ordinary request: 100 records with a body and 3 attributes.
fn ordinary() -> Vec<u8> {
    let kv = |k: &str| {
        field(
            6,
            &[field(1, k.as_bytes()), field(2, &field(1, b"v"))].concat(),
        )
    };
    let rec = [
        field(5, &field(1, b"an ordinary line")),
        kv("a"),
        kv("b"),
        kv("c"),
    ]
    .concat();
    request(&field(2, &rec).repeat(100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_tiny_repeated_fields_are_refused_before_they_are_decoded() {
    let tmp = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let agent = Proc::start(tmp.path(), "a", &conf(grpc, http), grpc, &[]);
    agent.wait_until("http listening", || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
    });
    let hwm0 = vm_hwm_mib(agent.child.id());
    for (what, wire) in protobuf_attacks() {
        assert!(wire.len() <= WIRE_MAX, "{what}: {}", wire.len());
        let refused = export(grpc, wire.clone()).await.unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::ResourceExhausted,
            "{what}: {refused:?}"
        );
        assert!(
            refused.message().contains("to decode"),
            "{what}: {refused:?}"
        );
        let (code, text) =
            tokio::task::spawn_blocking(move || post(http, "application/x-protobuf", &wire))
                .await
                .unwrap();
        assert_eq!(code, 413, "{what}: {text}");
        assert!(text.contains("maxInflightBytes"), "{what}: {text}");
    }
    for (what, text) in json_attacks() {
        assert!(text.len() <= WIRE_MAX, "{what}: {}", text.len());
        let (code, answer) =
            tokio::task::spawn_blocking(move || post(http, "application/json", &text))
                .await
                .unwrap();
        assert_eq!(code, 413, "{what}: {answer}");
        assert!(answer.contains("to decode"), "{what}: {answer}");
    }
    let hwm = vm_hwm_mib(agent.child.id());
    eprintln!("VmHWM {hwm0} -> {hwm} MiB after 9 requests of up to {WIRE_MAX} bytes");
    assert!(
        hwm.saturating_sub(hwm0) < HWM_GROWTH_MAX_MIB,
        "VmHWM {hwm0} -> {hwm} MiB"
    );
    export(grpc, ordinary()).await.unwrap();
    let (code, text) =
        tokio::task::spawn_blocking(move || post(http, "application/x-protobuf", &ordinary()))
            .await
            .unwrap();
    assert_eq!(code, 200, "{text}\n{}", agent.log_text());
}
