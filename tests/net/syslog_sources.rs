//! The syslog sources on loopback, in process: Flume's headers through the real listeners,
//! octet counting, a garbage flood that must not stop a good client, the connection cap,
//! multiport's port header, UDP, and netcatudp.

use crate::support::net_support;

use std::time::Duration;

use net_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn syslogtcp_turns_newline_and_octet_counted_messages_into_events_with_flumes_headers() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1\nclientIPHeader = ip"),
        1000,
        100,
    );
    let mut s = connect(port).await;
    let m1 = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n";
    let m2 = "<165>1 2003-10-11T22:14:15.003Z host5424 app - - - hi";
    let framed = format!("{m1}{} {m2}not syslog\r\n", m2.len());
    s.write_all(framed.as_bytes()).await.unwrap();
    let ev = src.take_n(3).await;
    assert_eq!(h(&ev[0], "Facility"), Some("4"));
    assert_eq!(h(&ev[0], "Severity"), Some("2"));
    assert_eq!(h(&ev[0], "host"), Some("mymachine"));
    assert_eq!(h(&ev[0], "ip"), Some("127.0.0.1"));
    assert_eq!(ev[0].body, &b"su: 'su root' failed"[..]);
    assert_eq!(h(&ev[1], "timestamp"), Some("1065910455003"));
    assert_eq!(h(&ev[1], "version"), Some("1"));
    assert_eq!(h(&ev[1], "host"), Some("host5424"));
    assert_eq!(ev[1].body, &b"app - - - hi"[..]);
    assert_eq!(h(&ev[2], "flume.syslog.status"), Some("Invalid"));
    assert_eq!(ev[2].body, &b"not syslog"[..]);
    drop(s);
    src.stop().await;
}

/// One connection's long stream spans many group commits, each parsed while the one before
/// commits: every line arrives once, in order, the last one (without a newline) at the close.
#[tokio::test]
async fn one_connection_delivers_a_long_stream_whole_and_in_order() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1"),
        100_000,
        100,
    );
    let mut s = connect(port).await;
    let n = 30_000;
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("<13>Oct 11 22:14:15 h line {i}\n"));
    }
    text.push_str("<13>Oct 11 22:14:15 h the last, unterminated");
    // Uneven pieces, so frames straddle reads.
    for piece in text.as_bytes().chunks(7_919) {
        s.write_all(piece).await.unwrap();
    }
    drop(s);
    let ev = src.take_n(n + 1).await;
    assert_eq!(ev.len(), n + 1);
    for (i, e) in ev.iter().take(n).enumerate() {
        assert_eq!(e.body, format!("line {i}").as_bytes(), "event {i}");
    }
    assert_eq!(ev[n].body, &b"the last, unterminated"[..]);
    src.stop().await;
}

#[tokio::test]
async fn a_message_longer_than_event_size_is_marked_incomplete_and_its_rest_kept() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1\neventSize = 20"),
        1000,
        100,
    );
    let mut s = connect(port).await;
    s.write_all(b"<13>Oct 11 22:14:15 h 0123456789\n<13>ok\n")
        .await
        .unwrap();
    let ev = src.take_n(3).await;
    assert_eq!(h(&ev[0], "flume.syslog.status"), Some("Incomplete"));
    assert_eq!(ev[0].body, &b"<13>Oct 11 22:14:15 "[..]);
    assert_eq!(h(&ev[1], "flume.syslog.status"), Some("Invalid"));
    assert_eq!(ev[1].body, &b"h 0123456789"[..]);
    assert_eq!(ev[2].body, &b"<13>ok"[..]);
    src.stop().await;
}

#[tokio::test]
async fn a_garbage_flood_does_not_keep_the_source_from_serving_a_good_client() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1"),
        1_000_000,
        100,
    );
    let mut bad = connect(port).await;
    let flood = tokio::spawn(async move {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut chunk = vec![0u8; 64 * 1024];
        for _ in 0..64 {
            for b in chunk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if bad.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut good = connect(port).await;
    for i in 0..200 {
        good.write_all(format!("<14>Oct 11 22:14:15 goodhost line {i}\n").as_bytes())
            .await
            .unwrap();
    }
    let end = std::time::Instant::now() + WAIT;
    let mut seen = 0;
    while seen < 200 {
        assert!(
            std::time::Instant::now() < end,
            "only {seen} good lines arrived"
        );
        let ev = src.drain().await;
        seen += ev
            .iter()
            .filter(|e| h(e, "host") == Some("goodhost"))
            .count();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, 200);
    flood.await.unwrap();
    src.stop().await;
}

#[tokio::test]
async fn connections_over_max_connections_are_closed_at_once() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1\nmaxConnections = 1"),
        1000,
        100,
    );
    let mut first = connect(port).await;
    first.write_all(b"<13>first\n").await.unwrap();
    src.take_n(1).await;
    let mut second = connect(port).await;
    let mut buf = [0u8; 1];
    let r = tokio::time::timeout(WAIT, second.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "second connection not closed: {r:?}"
    );
    first.write_all(b"<13>still served\n").await.unwrap();
    let ev = src.take_n(1).await;
    assert_eq!(ev[0].body, &b"<13>still served"[..]);
    src.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_idle_timeout() {
    let port = free_port();
    let src = start(
        &format!("type = syslogtcp\nport = {port}\nhost = 127.0.0.1\nidleTimeout = 200"),
        1000,
        100,
    );
    let mut s = connect(port).await;
    s.write_all(b"<13>partial without newline").await.unwrap();
    let mut buf = [0u8; 1];
    let r = tokio::time::timeout(WAIT, s.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection kept: {r:?}"
    );
    let ev = src.take_n(1).await;
    assert_eq!(
        ev[0].body,
        &b"<13>partial without newline"[..],
        "the unterminated rest is kept"
    );
    src.stop().await;
}

#[tokio::test]
async fn multiport_syslogtcp_listens_on_every_port_and_names_it_in_the_port_header() {
    let (p1, p2) = (free_port(), free_port());
    let src = start(
        &format!(
            "type = multiport_syslogtcp\nports = {p1} {p2}\nhost = 127.0.0.1\nportHeader = port\n\
             charset.default = UTF-8\ncharset.port.{p2} = ISO-8859-1\nbatchSize = 10"
        ),
        1000,
        100,
    );
    let mut a = connect(p1).await;
    a.write_all(b"<13>Oct 11 22:14:15 one a\n").await.unwrap();
    let ev = src.take_n(1).await;
    assert_eq!(h(&ev[0], "port"), Some(p1.to_string().as_str()));
    let mut b = connect(p2).await;
    b.write_all(b"<13>Oct 11 22:14:15 two caf\xe9\n")
        .await
        .unwrap();
    let ev = src.take_n(1).await;
    assert_eq!(h(&ev[0], "port"), Some(p2.to_string().as_str()));
    assert_eq!(ev[0].body, &b"caf\xe9"[..], "the body is kept as received");
    src.stop().await;
}

#[tokio::test]
async fn syslogudp_turns_a_datagram_into_an_event() {
    let port = free_udp_port();
    let src = start(
        &format!("type = syslogudp\nport = {port}\nhost = 127.0.0.1\nkeepFields = true\nclientIPHeader = ip"),
        1000,
        100,
    );
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let msg = b"<11>Oct 11 22:14:15 udphost hello udp";
    let end = std::time::Instant::now() + WAIT;
    let ev = loop {
        // The socket may not be bound yet: send until something arrives.
        sock.send_to(msg, ("127.0.0.1", port)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ev = src.drain().await;
        if !ev.is_empty() {
            break ev;
        }
        assert!(std::time::Instant::now() < end, "no datagram arrived");
    };
    assert_eq!(h(&ev[0], "Facility"), Some("1"));
    assert_eq!(h(&ev[0], "Severity"), Some("3"));
    assert_eq!(h(&ev[0], "host"), Some("udphost"));
    assert_eq!(h(&ev[0], "ip"), Some("127.0.0.1"));
    assert_eq!(
        ev[0].body,
        &msg[..],
        "keepFields = true keeps the whole message"
    );
    src.stop().await;
}

#[tokio::test]
async fn netcatudp_turns_each_line_of_a_datagram_into_an_event() {
    let port = free_udp_port();
    let src = start(
        &format!("type = netcatudp\nport = {port}\nbind = 127.0.0.1\nremoteAddressHeader = from"),
        1000,
        100,
    );
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    let end = std::time::Instant::now() + WAIT;
    let ev = loop {
        sock.send_to(b"one\r\ntwo\n\nthree", ("127.0.0.1", port))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ev = src.drain().await;
        if !ev.is_empty() {
            break ev;
        }
        assert!(std::time::Instant::now() < end, "no datagram arrived");
    };
    let bodies: Vec<&[u8]> = ev.iter().take(3).map(|e| &e.body[..]).collect();
    assert_eq!(bodies, [&b"one"[..], b"two", b"three"]);
    assert_eq!(h(&ev[0], "from"), Some(format!("/{me}").as_str()));
    src.stop().await;
}

#[test]
fn unknown_charsets_are_config_errors_naming_the_key() {
    let text = "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = multiport_syslogtcp\n\
                a1.sources.r1.ports = 5140\na1.sources.r1.charset.default = UTF-16\n\
                a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n";
    let loaded = sluice::agent::topology::load(text, "a1", &[]);
    assert!(loaded.config.is_none());
    assert!(loaded
        .problems
        .iter()
        .any(|p| p.key == "a1.sources.r1.charset.default" && p.message.contains("UTF-16")));
}

#[test]
fn the_syslog_and_http_example_passes_config_check_without_warnings() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/syslog-http-file-roll.properties");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[tokio::test]
async fn syslogtcp_with_ssl_reads_messages_over_tls_with_a_pem_keystore() {
    let port = free_port();
    let src = start(
        &format!(
            "type = syslogtcp\nport = {port}\nhost = 127.0.0.1\nssl = true\nkeystore = {}\n\
             keystore-type = PEM",
            keystore().display()
        ),
        1000,
        100,
    );
    let mut s = connect_tls(port).await;
    s.write_all(b"<13>Oct 11 22:14:15 tlshost over tls\n")
        .await
        .unwrap();
    s.flush().await.unwrap();
    let ev = src.take_n(1).await;
    assert_eq!(h(&ev[0], "host"), Some("tlshost"));
    assert_eq!(ev[0].body, &b"over tls"[..]);
    // A plain-text client does not get through.
    let mut plain = connect(port).await;
    plain
        .write_all(b"<13>Oct 11 22:14:15 h plain\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut buf)).await;
    assert!(
        src.drain().await.is_empty(),
        "plain text was accepted on a TLS port"
    );
    src.stop().await;
}

#[test]
fn a_java_keystore_is_a_config_error_with_the_conversion() {
    let tmp = tempfile::tempdir().unwrap();
    let jks = tmp.path().join("ks.jks");
    std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = syslogtcp\n\
         a1.sources.r1.port = 5140\na1.sources.r1.ssl = true\n\
         a1.sources.r1.keystore = {}\na1.sources.r1.keystore-type = JKS\n\
         a1.sources.r1.keystore-password = secret\n\
         a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n",
        jks.display()
    );
    let loaded = sluice::agent::topology::load(&text, "a1", &[]);
    assert!(loaded.config.is_none());
    let p = loaded
        .problems
        .iter()
        .find(|p| p.key == "a1.sources.r1.keystore")
        .expect("a keystore problem");
    assert!(
        p.message.contains("keytool -importkeystore"),
        "{}",
        p.message
    );
    assert!(p.render("f").starts_with("f:6: "), "{}", p.render("f"));
}
