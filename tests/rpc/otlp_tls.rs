//! The `otlp` source with `ssl = true` in a real agent process: the OpenTelemetry Python
//! SDK's gRPC exporter (which requires ALPN `h2`) and HTTP exporter, on `https://` and
//! trusting the test CA (so only a TLS server with the test certificate answers them),
//! deliver every record.

use crate::support::multihop::{logs_of, wait_for_all, Proc};
use crate::support::otel_support::*;
use crate::support::ports::free_port;
use crate::support::rpcsec_support::Pki;

#[test]
fn sdk_exporters_deliver_over_tls_to_both_transports() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pki_dir = root.join("pki");
    std::fs::create_dir_all(&pki_dir).unwrap();
    std::fs::create_dir_all(root.join("a/out")).unwrap();
    let pki = Pki::generate(&pki_dir);
    let (grpc, http) = (free_port(), free_port());
    let tls = format!(
        "ssl = true\nkeystore = {}\n",
        pki.path("server-keystore.pem")
    );
    let mut c = String::from("a.sources = g h\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    c += &otlp_source("a", "h", "http", http, "c1");
    for src in ["g", "h"] {
        for l in tls.lines() {
            c += &format!("a.sources.{src}.{l}\n");
        }
    }
    c += &file_channel(root, "a", "c1");
    c += &format!(
        "a.sinks.k1.type = file_roll\na.sinks.k1.channel = c1\n\
         a.sinks.k1.sink.directory = {}/a/out\na.sinks.k1.sink.rollInterval = 0\n",
        root.display()
    );
    let agent = Proc::start(root, "a", &c, grpc, &[]);
    let ca = pki.path("ca.pem");
    let mut want = Vec::new();
    for (mode, port) in [("grpc", grpc), ("http", http)] {
        let r = send_tls(mode, port, 100, &format!("tls{mode}"), Some(&ca));
        assert_eq!(r["exported"], 100, "{mode}: {r}\n{}", logs_of([&agent]));
        want.extend((0..100).map(|i| format!("tls{mode}-{i} ü")));
    }
    let got = wait_for_all(&[root.join("a/out")], &want, &[&agent]);
    assert_eq!(got.len(), want.len());
}

/// `POST /` of a JSON `body` over TLS to an http source, trusting the PEM CA `ca`: the status.
fn post_json_tls(port: u16, ca: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(Arc::new(cfg), name).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut s = StreamOwned::new(conn, tcp);
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    let mut raw = Vec::new();
    // The server may close without close_notify: what arrived before counts.
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    raw.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// One TLS reader for every source and sink: the same PKCS12 store (with its password) and
/// the same PEM files serve an http source (the edge's, over HTTPS) and an otlp source (the
/// collector's, gRPC), and the otlp sink between them trusts the CA from the PKCS12 or PEM
/// truststore; every event arrives.
#[test]
fn one_pkcs12_or_pem_material_serves_the_http_and_otlp_sources_and_the_otlp_sink() {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    std::fs::create_dir_all(&pki_dir).unwrap();
    let pki = Pki::generate(&pki_dir);
    let pem_keystore = format!(
        "ssl = true\nkeystore = {}\n",
        pki.path("server-keystore.pem")
    );
    let pem_truststore = format!("ssl = true\ntruststore = {}\n", pki.path("ca.pem"));
    let cases = [
        (
            "pkcs12",
            pki.source_keys("server.p12"),
            pki.sink_keys("ca.p12"),
        ),
        ("pem", pem_keystore, pem_truststore),
    ];
    let prefixed = |prefix: &str, keys: &str| -> String {
        keys.lines().map(|l| format!("{prefix}.{l}\n")).collect()
    };
    for (kind, keystore, truststore) in cases {
        let root = tmp.path().join(kind);
        std::fs::create_dir_all(root.join("col/out")).unwrap();
        let (grpc, http) = (free_port(), free_port());
        let mut col = String::from("col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n");
        col += &otlp_source("col", "r1", "grpc", grpc, "c1");
        col += &prefixed("col.sources.r1", &keystore);
        col += &file_channel(&root, "col", "c1");
        col += &format!(
            "col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
             col.sinks.k1.sink.directory = {}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n",
            root.display()
        );
        let mut edge = String::from("edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n");
        edge += &format!(
            "edge.sources.r1.type = http\nedge.sources.r1.bind = 127.0.0.1\n\
             edge.sources.r1.port = {http}\nedge.sources.r1.channels = c1\n"
        );
        edge += &prefixed("edge.sources.r1", &keystore);
        edge += &file_channel(&root, "edge", "c1");
        edge += &format!(
            "edge.sinks.k1.type = otlp\nedge.sinks.k1.channel = c1\n\
             edge.sinks.k1.protocol = grpc\nedge.sinks.k1.endpoint = https://127.0.0.1:{grpc}\n"
        );
        edge += &prefixed("edge.sinks.k1", &truststore);
        let col = Proc::start(&root, "col", &col, grpc, &[]);
        let edge = Proc::start(&root, "edge", &edge, http, &[]);
        let want: Vec<String> = (0..20).map(|i| format!("{kind}-{i}")).collect();
        let json: Vec<_> = want
            .iter()
            .map(|b| serde_json::json!({"headers": {}, "body": b}))
            .collect();
        let status = post_json_tls(
            http,
            &pki.path("ca.pem"),
            &serde_json::Value::from(json).to_string(),
        );
        assert_eq!(status, 200, "{kind}\n{}", logs_of([&edge, &col]));
        let got = wait_for_all(&[root.join("col/out")], &want, &[&edge, &col]);
        assert_eq!(got.len(), want.len(), "{kind}");
    }
}
