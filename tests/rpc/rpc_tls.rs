//! TLS on the avro hop, Sluice to Sluice on loopback, with a PKI made by `openssl` in the
//! test: PKCS12 and PEM keystores and truststores, a keytool-written PKCS12 keystore; an
//! expired certificate, one from another CA, one naming another host, a plain-text client
//! and a silent client are each refused with a clear error (on the side that refuses) while a
//! good sink keeps delivering through the same source.

use crate::support::net_support;
use crate::support::rpcsec_support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rpcsec_support::{avro_sink, avro_sink_to, capture_logs, wait_for_log, Pki};
use sluice_core::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn batch(tag: &str, n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| Event::new(format!("{tag}-{i}")).header("h", tag))
        .collect()
}

/// Bodies of 100 to 4,000 bytes: those of 512 and more are spliced into the TLS writes.
fn large_batch(tag: &str, n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let body: Vec<u8> = (0..100 + (i * 397) % 3900).map(|j| (i + j) as u8).collect();
            Event::new(body).header("h", tag)
        })
        .collect()
}

fn source(keys: &str) -> (net_support::Running, u16) {
    let port = net_support::free_port();
    let props = format!("type = avro\nbind = 127.0.0.1\nport = {port}\n{keys}");
    (net_support::start(&props, 100_000, 10_000), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sluice_sink_delivers_to_a_sluice_source_over_tls_with_pkcs12_and_pem_stores() {
    let _g = capture_logs().await;
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::generate(tmp.path());
    // PKCS12 keystore on the source, PEM truststore on the sink; then PEM and PKCS12.
    for (keystore, truststore) in [("server.p12", "ca.pem"), ("server-keystore.pem", "ca.p12")] {
        let (src, port) = source(&pki.source_keys(keystore));
        let mut sink = avro_sink(port, &pki.sink_keys(truststore)).unwrap();
        net_support::connect(port).await;
        sink.prepare().await.unwrap();
        for round in 0..3 {
            sink.deliver(&batch(&format!("{keystore}{round}"), 50))
                .await
                .unwrap();
        }
        let got = src.take_n(150).await;
        assert_eq!(got.len(), 150);
        assert_eq!(got[0], batch(&format!("{keystore}0"), 1)[0]);
        // A call of about 600 KB with large bodies arrives byte for byte.
        let large = large_batch(keystore, 300);
        sink.deliver(&large).await.unwrap();
        assert_eq!(src.take_n(300).await, large);
        wait_for_log(&[
            "avro source listening",
            &format!("port={port}"),
            "transport=tls",
        ])
        .await;
        sink.stop();
        src.stop().await;
    }
    // A PKCS12 keystore written by Java's keytool (what a Flume user has) is read directly.
    let java = pki.keytool_store("PKCS12");
    let (src, port) = source(&format!(
        "ssl = true\nkeystore = {java}\nkeystore-password = changeit\nkeystore-type = JKS"
    ));
    let mut sink = avro_sink(port, &pki.sink_keys("ca.pem")).unwrap();
    net_support::connect(port).await;
    sink.prepare().await.unwrap();
    sink.deliver(&batch("keytool", 3)).await.unwrap();
    assert_eq!(src.take_n(3).await.len(), 3);
    src.stop().await;
}

#[test]
fn a_jks_keystore_is_refused_with_the_keytool_command_that_converts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::generate(tmp.path());
    let jks = pki.keytool_store("JKS");
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\na1.sources.r1.type = avro\n\
         a1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 4141\na1.sources.r1.channels = c1\n\
         a1.sources.r1.ssl = true\na1.sources.r1.keystore = {jks}\n\
         a1.sources.r1.keystore-password = changeit\na1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    );
    let loaded = sluice::agent::topology::load(&text, "a1", &[]);
    assert!(loaded.config.is_none());
    let p = loaded
        .problems
        .iter()
        .find(|p| p.key.ends_with("keystore"))
        .expect("a problem names the keystore");
    let want = format!("keytool -importkeystore -srckeystore {jks} -srcstoretype JKS");
    assert!(p.message.contains(&want), "{}", p.message);
    assert!(p.message.contains("-deststoretype PKCS12"), "{}", p.message);
}

/// The problem `load` reports on the source's `keystore` key with `keys` as its TLS keys.
fn keystore_problem(keys: &str) -> String {
    let mut text = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\na1.sources.r1.type = avro\n\
         a1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 4141\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
        .to_owned();
    for l in keys.lines() {
        text.push_str(&format!("a1.sources.r1.{l}\n"));
    }
    let loaded = sluice::agent::topology::load(&text, "a1", &[]);
    assert!(loaded.config.is_none(), "the keystore was accepted");
    let p = loaded.problems.iter().find(|p| p.key.ends_with("keystore"));
    p.expect("a problem names the keystore").message.clone()
}

#[test]
fn a_wrong_pkcs12_password_and_an_unread_encryption_scheme_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::generate(tmp.path());
    let wrong = pki
        .source_keys("server.p12")
        .replace("password = changeit", "password = nope");
    let message = keystore_problem(&wrong);
    assert!(message.contains(&pki.path("server.p12")), "{message}");
    assert!(message.contains("integrity check failed"), "{message}");
    assert!(message.contains("is keystore-password right?"), "{message}");
    // Certificates encrypted with 3DES under PBES2: refused by the scheme's OID.
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-in",
            "server.pem",
            "-inkey",
            "server.key",
        ])
        .args([
            "-certpbe",
            "des-ede3-cbc",
            "-out",
            "des3.p12",
            "-passout",
            "pass:changeit",
        ])
        .current_dir(tmp.path())
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let message = keystore_problem(&pki.source_keys("des3.p12"));
    assert!(
        message.contains("DES-EDE3-CBC, OID 1.2.840.113549.3.7"),
        "{message}"
    );
    assert!(message.contains("without -legacy"), "{message}");
}

/// A good sink sending batches until told to stop: (batches delivered, any failure).
fn good_flow(port: u16, pki: &Pki, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u64)> {
    let mut sink = avro_sink(port, &pki.sink_keys("ca.p12")).unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        let mut failed = 0;
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) || n < 5 {
            match async {
                sink.prepare().await?;
                sink.deliver(&batch(&format!("good{n}"), 10)).await
            }
            .await
            {
                Ok(()) => {
                    n += 1;
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    eprintln!("good sink failed: {e}");
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (n, failed)
    })
}

/// Servers whose certificate the sink must refuse: expired, signed by another CA (the
/// source names the peer; trust-all-certs takes even those).
async fn bad_certificates_are_refused_unless_all_are_trusted(pki: &Pki) {
    for (keystore, reason) in [
        ("expired-keystore.pem", "expired"),
        (
            "wrongca-keystore.pem",
            "not signed by a CA in the truststore",
        ),
    ] {
        let (bad, bad_port) = source(&pki.source_keys(keystore));
        net_support::connect(bad_port).await;
        let mut sink = avro_sink(bad_port, &pki.sink_keys("ca.pem")).unwrap();
        let e = sink.prepare().await.unwrap_err().to_string();
        assert!(e.contains("TLS handshake with 127.0.0.1"), "{e}");
        assert!(e.contains(reason), "{e}");
        // The source names the peer and says the handshake failed.
        wait_for_log(&[
            "avro connection closed: TLS handshake failed",
            "peer=127.0.0.1",
        ])
        .await;
        // trust-all-certs takes even that certificate.
        let mut trusting = avro_sink(bad_port, "ssl = true\ntrust-all-certs = true").unwrap();
        trusting.prepare().await.unwrap();
        trusting.deliver(&batch("trusting", 2)).await.unwrap();
        assert_eq!(bad.take_n(2).await.len(), 2);
        bad.stop().await;
    }
}

/// A certificate that does not name the host: refused unless verify-hostname = false.
async fn a_certificate_for_another_host_is_refused_unless_unverified(pki: &Pki) {
    let (other, other_port) = source(&pki.source_keys("othername-keystore.pem"));
    net_support::connect(other_port).await;
    let mut sink = avro_sink_to("localhost", other_port, &pki.sink_keys("ca.pem")).unwrap();
    let e = sink.prepare().await.unwrap_err().to_string();
    assert!(e.contains("verify-hostname = false"), "{e}");
    let keys = format!("{}verify-hostname = false\n", pki.sink_keys("ca.pem"));
    let mut sink = avro_sink_to("localhost", other_port, &keys).unwrap();
    sink.prepare().await.unwrap();
    other.stop().await;
}

/// A plain-text avro client to the TLS `port`: closed at once, with a line that says so; a
/// client that connects and says nothing is closed after ssl-handshake-timeout.
async fn plain_and_silent_clients_are_closed_with_a_line(port: u16) {
    let mut plain = net_support::connect(port).await;
    let local = plain.local_addr().unwrap();
    plain
        .write_all(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "the plain client was not closed: {n:?}"
    );
    let line = wait_for_log(&[
        &format!("peer={local}"),
        "does not speak TLS to this TLS port",
    ])
    .await;
    assert!(line.contains("set ssl = true on the peer"), "{line}");
    // A client that connects and says nothing is closed after ssl-handshake-timeout.
    let silent = net_support::connect(port).await;
    let local = silent.local_addr().unwrap();
    wait_for_log(&[
        &format!("peer={local}"),
        "within ssl-handshake-timeout (3000 ms)",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificates_and_plain_or_silent_clients_are_refused_while_a_good_sink_flows() {
    let _g = capture_logs().await;
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::generate(tmp.path());
    let (src, port) = source(&format!(
        "{}ssl-handshake-timeout = 3000\n",
        pki.source_keys("server.p12")
    ));
    net_support::connect(port).await;
    let stop = Arc::new(AtomicBool::new(false));
    let flow = good_flow(port, &pki, stop.clone());

    bad_certificates_are_refused_unless_all_are_trusted(&pki).await;
    a_certificate_for_another_host_is_refused_unless_unverified(&pki).await;
    let before = src.counters.get("EventReadFail");
    plain_and_silent_clients_are_closed_with_a_line(port).await;
    assert!(src.counters.get("EventReadFail") >= before + 2);

    stop.store(true, Ordering::SeqCst);
    let (delivered, failed) = flow.await.unwrap();
    assert_eq!(
        failed, 0,
        "the good sink failed while bad peers were refused"
    );
    let got = src.take_n(delivered as usize * 10).await;
    assert_eq!(got.len() as u64, delivered * 10);
    src.stop().await;
}

#[test]
fn the_tls_two_tier_examples_check_clean_with_their_stores() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("tls")).unwrap();
    Pki::generate(&tmp.path().join("tls"));
    for (agent, name) in [
        ("collector", "tls-two-tier-collector.properties"),
        ("edge", "tls-two-tier-edge.properties"),
    ] {
        let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(tmp.path())
            .args(["config", "check", "-n", agent, "-f"])
            .arg(&conf)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{name}: {text}");
        assert!(!text.contains("warning"), "{name}: {text}");
    }
}
