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
