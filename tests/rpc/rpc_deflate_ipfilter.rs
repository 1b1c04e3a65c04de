//! Deflate and `ipFilter` on the avro source, and the first-bytes check of every port:
//! Sluice's deflate sink to its deflate source; Flume's own deflate stream (golden bytes
//! from a real Flume 1.11 client) decoded and answered with Flume's answer bytes; a deflate
//! sink to a plain source names the mismatch on the sending side too; a deflate
//! stream cut mid-way is a clear error; TLS or deflate to a plain port and plain data to a
//! deflate port are each refused with a line that says so; ipFilter rules by IP and by name,
//! first match wins, no match allows, refusals counted; and the keys' refusals.

use crate::support::net_support;
use crate::support::rpcsec_support;

use std::net::SocketAddr;
use std::time::Duration;

use rpcsec_support::{avro_sink, capture_logs, wait_for_log};
use sluice_core::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/sluice-wire/tests/fixtures/wire")
        .join(name);
    std::fs::read(p).unwrap()
}

fn source(keys: &str) -> (net_support::Running, u16) {
    let port = net_support::free_port();
    let props = format!("type = avro\nbind = 127.0.0.1\nport = {port}\n{keys}");
    (net_support::start(&props, 100_000, 10_000), port)
}

/// Connects from the loopback address `from` (any of 127.0.0.0/8).
async fn connect_from(from: &str, port: u16) -> TcpStream {
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Retried while the source starts (no probe from another address: it would be filtered).
    for _ in 0..400 {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(format!("{from}:0").parse().unwrap()).unwrap();
        if let Ok(c) = s.connect(to).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cannot connect to port {port} from {from}");
}

/// Reads until the peer closes or `want` bytes came (bounded); what was read.
async fn read_some(s: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < want {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) => panic!(
                "no answer and no close within 10 s ({} bytes so far)",
                out.len()
            ),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sluice_deflate_sink_delivers_to_a_deflate_source() {
    let _g = capture_logs().await;
    let (src, port) = source("compression-type = deflate");
    let mut sink = avro_sink(port, "compression-type = deflate\ncompression-level = 1").unwrap();
    net_support::connect(port).await;
    sink.prepare().await.unwrap();
    let events: Vec<Event> = (0..500)
        .map(|i| Event::new(format!("line {i} {}", "x".repeat(900))).header("n", "1"))
        .collect();
    for chunk in events.chunks(100) {
        sink.deliver(chunk).await.unwrap();
    }
    assert_eq!(src.take_n(500).await, events);
    wait_for_log(&["avro source listening", "transport=deflate"]).await;
    src.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_sink_to_a_plain_source_says_the_peer_may_not_use_deflate() {
    let _g = capture_logs().await;
    let (src, port) = source("");
    let mut sink = avro_sink(port, "compression-type = deflate").unwrap();
    net_support::connect(port).await;
    let err = match sink.prepare().await {
        Err(e) => e.to_string(),
        Ok(()) => sink
            .deliver(&[Event::new("x")])
            .await
            .expect_err("a plain source accepted a deflate stream")
            .to_string(),
    };
    assert!(
        err.contains("the peer may not be using compression-type = deflate"),
        "{err}"
    );
    // The source names the same mismatch from its side.
    wait_for_log(&["deflate stream to this uncompressed port"]).await;
    src.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flumes_deflate_client_bytes_are_decoded_and_answered_as_flume_answers() {
    let _g = capture_logs().await;
    let (src, port) = source("compression-type = deflate");
    let mut s = net_support::connect(port).await;
    s.write_all(&fixture("avro-deflate-conn-c2s.bin"))
        .await
        .unwrap();
    // The answer is a zlib stream too; inflated, it is what Flume's AvroSource sent.
    let want = fixture("avro-conn-s2c.bin");
    let mut inflate = flate2::Decompress::new(true);
    let mut plain = Vec::with_capacity(4096);
    let mut buf = [0u8; 4096];
    while plain.len() < want.len() {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed after {} inflated bytes", plain.len());
        let mut input = &buf[..n];
        while !input.is_empty() {
            let before = inflate.total_in();
            inflate
                .decompress_vec(input, &mut plain, flate2::FlushDecompress::Sync)
                .unwrap();
            input = &input[(inflate.total_in() - before) as usize..];
            plain.reserve(4096);
        }
    }
    assert_eq!(plain, want);
    let got = src.take_n(4).await;
    let bodies: Vec<&[u8]> = got.iter().map(|e| e.body.as_ref()).collect();
    assert_eq!(bodies, [&b"hello"[..], b"world", b"", b"hello"]);
    src.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_stream_cut_mid_way_is_a_clear_error() {
    let _g = capture_logs().await;
    let (src, port) = source("compression-type = deflate");
    let full = fixture("avro-deflate-conn-c2s.bin");
    let cut = &full[..60];
    assert_ne!(
        &cut[cut.len() - 4..],
        &[0, 0, 0xff, 0xff],
        "cut inside a write"
    );
    let mut s = net_support::connect(port).await;
    let local = s.local_addr().unwrap();
    s.write_all(cut).await.unwrap();
    s.shutdown().await.unwrap();
    let line = wait_for_log(&[&format!("peer={local}"), "deflate stream cut mid-way"]).await;
    assert!(line.contains("WARN"), "{line}");
    assert_eq!(src.counters.get("EventReadFail"), 1);
    src.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_or_deflate_to_a_plain_port_and_plain_data_to_a_deflate_port_are_named() {
    let _g = capture_logs().await;
    let (plain_src, plain) = source("");
    let (deflate_src, deflate) = source("compression-type = deflate");
    let cases: [(u16, &[u8], &str); 3] = [
        (
            plain,
            &[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00],
            "the peer speaks TLS to this plain port",
        ),
        (
            plain,
            &fixture("avro-deflate-conn-c2s.bin"),
            "deflate stream to this uncompressed port",
        ),
        (
            deflate,
            &fixture("avro-conn-c2s.bin"),
            "uncompressed data to this deflate port",
        ),
    ];
    for (port, bytes, says) in cases {
        let mut s = net_support::connect(port).await;
        let local = s.local_addr().unwrap();
        s.write_all(bytes).await.unwrap();
        assert!(read_some(&mut s, 1).await.is_empty(), "{says}: answered");
        wait_for_log(&[&format!("peer={local}"), says]).await;
    }
    plain_src.stop().await;
    deflate_src.stop().await;
}

/// Whether a peer from `from` is served: an avro call answered (true) or closed (false).
async fn served(from: &str, port: u16) -> bool {
    let mut s = connect_from(from, port).await;
    let _ = s.write_all(&fixture("avro-frame1-request.bin")).await;
    !read_some(&mut s, 27).await.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_filter_rules_by_ip_and_name_first_match_wins_and_refusals_count() {
    let _g = capture_logs().await;
    let (src, port) =
        source("ipFilter = true\nipFilterRules = deny:ip:127.0.0.3,allow:ip:127.0.0.*,deny:ip:*");
    assert!(served("127.0.0.1", port).await);
    // 127.0.0.3 matches both the deny rule and the allow rule after it: the first wins.
    assert!(!served("127.0.0.3", port).await);
    assert!(!served("127.0.1.7", port).await);
    assert_eq!(src.counters.get("ConnectionRefusedCount"), 2);
    wait_for_log(&[
        "connection refused by ipFilter",
        "peer=127.0.0.3",
        "deny:ip:127.0.0.3",
    ])
    .await;
    src.stop().await;

    // No rule matches: allowed (Netty's default).
    let (src, port) = source("ipFilter = true\nipFilterRules = deny:ip:10.*");
    assert!(served("127.0.0.2", port).await);
    assert_eq!(src.counters.get("ConnectionRefusedCount"), 0);
    src.stop().await;

    // By name: 127.0.0.1 is "localhost" in /etc/hosts; 127.0.0.5 has no name (its text).
    let (src, port) = source("ipFilter = true\nipFilterRules = allow:name:localhos?,deny:ip:*");
    assert!(served("127.0.0.1", port).await);
    assert!(!served("127.0.0.5", port).await);
    src.stop().await;
    // `name:localhost` exactly is any loopback peer, without a lookup.
    let (src, port) = source("ipFilter = true\nipFilterRules = deny:name:localhost");
    assert!(!served("127.0.0.9", port).await);
    assert_eq!(src.counters.get("ConnectionRefusedCount"), 1);
    src.stop().await;
}

fn problems(source_keys: &str, sink_keys: &str) -> Vec<String> {
    let mut text = String::from(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\na1.sources.r1.type = avro\n\
         a1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 4141\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hostname = 127.0.0.1\na1.sinks.k1.port = 4142\n",
    );
    for (prefix, keys) in [("a1.sources.r1", source_keys), ("a1.sinks.k1", sink_keys)] {
        for l in keys.lines().filter(|l| !l.trim().is_empty()) {
            text.push_str(&format!("{prefix}.{}\n", l.trim()));
        }
    }
    let l = sluice::agent::topology::load(&text, "a1", &[]);
    l.problems
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect()
}

#[test]
fn the_security_keys_are_read_and_bad_values_named() {
    let ks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/net_support/tls");
    let good = format!(
        "ssl = true\nkeystore = {}",
        ks.join("keystore.pem").display()
    );
    assert!(problems(&good, "").is_empty(), "{:?}", problems(&good, ""));
    let cases = [
        ("ssl = true", "", "r1.keystore: ssl = true needs a keystore"),
        ("ipFilter = true", "", "ipFilterRules is not defined"),
        (
            "ipFilter = true\nipFilterRules = permit:ip:*",
            "",
            "invalid ipFilter rule \"permit:ip:*\"",
        ),
        ("compression-type = gzip", "", "supported: none, deflate"),
        (
            "max-inflate-ratio = 1",
            "",
            "r1.max-inflate-ratio: must be 0 (no ratio cap) or between 2 and",
        ),
        (
            "ssl-max-handshakes = 0",
            "",
            "r1.ssl-max-handshakes: must be between 1 and",
        ),
        (
            "ssl-handshake-rate-per-peer = x",
            "",
            "r1.ssl-handshake-rate-per-peer",
        ),
        ("", "compression-level = 10", "between 0 and 9"),
        (
            &format!("{good}\ninclude-protocols = TLSv1 TLSv1.1"),
            "",
            "TLSv1.2 and TLSv1.3 only",
        ),
        (
            &format!("{good}\ninclude-cipher-suites = TLS_RSA_WITH_RC4_128_MD5"),
            "",
            "no cipher suite left",
        ),
        (
            "",
            "ssl = true\ntruststore = /nonexistent/ca.pem",
            "truststore /nonexistent/ca.pem",
        ),
        (
            "",
            "ssl = true\nexclude-protocols = TLSv1.2 TLSv1.3",
            "no protocol left",
        ),
    ];
    for (src, sink, want) in cases {
        let p = problems(src, sink);
        assert!(
            p.iter().any(|m| m.contains(want)),
            "{src:?} {sink:?}: want {want:?} in {p:?}"
        );
    }
    // Flume's defaults and list syntax (spaces) are accepted.
    let flume = format!("{good}\nexclude-protocols = SSLv3 TLSv1\ninclude-cipher-suites = TLS_AES_128_GCM_SHA256 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    let p = problems(&flume, "ssl = true\ntrust-all-certs = true");
    assert!(p.iter().all(|m| m.contains("not verified")), "{p:?}");
}

#[test]
fn config_check_refuses_ipfilter_rules_that_can_never_match() {
    // A CIDR block, an empty pattern and the IPv4-mapped form the log prints: Flume keeps
    // them and admits the peer they were written to stop.
    for (rules, want) in [
        ("deny:ip:127.0.0.0/8,allow:ip:*", "looks like a CIDR block"),
        ("deny:ip:,allow:ip:*", "its pattern is empty"),
        ("deny:ip:::ffff:127.0.0.1", "write \"127.0.0.1\""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("a1.properties");
        std::fs::write(
            &conf,
            format!(
                "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
                 a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n\
                 a1.sources.r1.port = 4141\na1.sources.r1.channels = c1\n\
                 a1.sources.r1.ipFilter = true\na1.sources.r1.ipFilterRules = {rules}\n\
                 a1.channels.c1.type = memory\n\
                 a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["config", "check", "-n", "a1", "-f"])
            .arg(&conf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{rules}: {text}");
        assert!(
            text.contains("can never match") && text.contains(want),
            "{rules}: {text}"
        );
        assert!(text.contains("ipFilterRules"), "{rules}: {text}");
    }
}
