//! The `http` source on loopback, in process: 200 only after commit, 400 with the reason,
//! 413 past maxBodyBytes, 503 when the channel is full, keep-alive, charsets, BlobHandler.

use crate::support::net_support;

use net_support::*;
use tokio::io::BufReader;

fn json_batch(prefix: &str, n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"headers":{{"seq":"{i}"}},"body":"{prefix}{i}"}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

#[tokio::test]
async fn posts_on_one_kept_alive_connection_are_committed_before_200() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1"),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    for round in 0..3 {
        let body = json_batch(&format!("r{round}-"), 5);
        let (status, _) = request(
            &mut c,
            "POST",
            "/",
            Some("application/json"),
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 200);
        // 200 means committed: the events are in the channel now, no waiting.
        let ev = src.drain().await;
        assert_eq!(ev.len(), 5);
        assert_eq!(ev[4].body, format!("r{round}-4").as_bytes());
        assert_eq!(h(&ev[4], "seq"), Some("4"));
    }
    assert_eq!(src.counters.get("EventAcceptedCount"), 15);
    src.stop().await;
}

#[tokio::test]
async fn bad_bodies_get_400_with_the_reason_and_the_connection_stays_usable() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1"),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    let (status, text) = request(&mut c, "POST", "/", None, br#"{"body":"x"}"#).await;
    assert_eq!(status, 400);
    assert!(text.contains("not a JSON array"), "{text}");
    let (status, text) = request(&mut c, "POST", "/", None, b"[{\"body\":").await;
    assert_eq!(status, 400);
    assert!(text.contains("invalid JSON"), "{text}");
    let (status, text) = request(
        &mut c,
        "POST",
        "/",
        Some("application/json; charset=KOI8-R"),
        b"[]",
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("KOI8-R"), "{text}");
    let (status, _) = request(&mut c, "POST", "/", None, br#"[{"body":"fine"}]"#).await;
    assert_eq!(status, 200);
    let ev = src.drain().await;
    assert_eq!(ev.len(), 1, "nothing of the bad requests was put");
    assert_eq!(src.counters.get("EventReadFail"), 3);
    src.stop().await;
}

#[tokio::test]
async fn a_body_over_max_body_bytes_gets_413() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1\nmaxBodyBytes = 100"),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    let body = json_batch("x", 20);
    assert!(body.len() > 100);
    let (status, text) = request(&mut c, "POST", "/", None, body.as_bytes()).await;
    assert_eq!(status, 413);
    assert!(text.contains("maxBodyBytes"), "{text}");
    let mut c = BufReader::new(connect(port).await);
    let (status, _) = request(&mut c, "POST", "/", None, json_batch("y", 1).as_bytes()).await;
    assert_eq!(status, 200);
    assert_eq!(src.drain().await.len(), 1);
    src.stop().await;
}

#[tokio::test]
async fn a_full_channel_gets_503_and_nothing_of_the_request_is_kept() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1"),
        10,
        10,
    );
    let mut c = BufReader::new(connect(port).await);
    let (status, _) = request(&mut c, "POST", "/", None, json_batch("a", 8).as_bytes()).await;
    assert_eq!(status, 200);
    let (status, text) = request(&mut c, "POST", "/", None, json_batch("b", 5).as_bytes()).await;
    assert_eq!(status, 503);
    assert!(text.contains("Channel might be full"), "{text}");
    let ev = src.drain().await;
    assert_eq!(ev.len(), 8, "the refused request was rolled back whole");
    let (status, _) = request(&mut c, "POST", "/", None, json_batch("b", 5).as_bytes()).await;
    assert_eq!(status, 200, "the resend succeeds once there is room");
    assert_eq!(src.counters.get("ChannelWriteFail"), 1);
    src.stop().await;
}

#[tokio::test]
async fn a_utf16_request_is_decoded_and_bodies_encoded_in_its_charset() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1"),
        1000,
        100,
    );
    let text = r#"[{"headers":{"lang":"fr"},"body":"été"}]"#;
    let mut body = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        body.extend_from_slice(&u.to_be_bytes());
    }
    let mut c = BufReader::new(connect(port).await);
    let (status, _) = request(
        &mut c,
        "POST",
        "/",
        Some("application/json; charset=UTF-16"),
        &body,
    )
    .await;
    assert_eq!(status, 200);
    let ev = src.drain().await;
    assert_eq!(h(&ev[0], "lang"), Some("fr"));
    assert_eq!(&ev[0].body[..], [0xFE, 0xFF, 0, 0xE9, 0, b't', 0, 0xE9]);
    src.stop().await;
}

#[tokio::test]
async fn the_blob_handler_makes_one_event_of_the_body_with_query_headers() {
    let port = free_port();
    let src = start(
        &format!(
            "type = http\nport = {port}\nbind = 127.0.0.1\n\
             handler = org.apache.flume.sink.solr.morphline.BlobHandler\nhandler.maxBlobLength = 5"
        ),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    let (status, _) = request(
        &mut c,
        "POST",
        "/?host=web%201&x=y",
        None,
        b"\x00\x01binary blob",
    )
    .await;
    assert_eq!(status, 200);
    let ev = src.drain().await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].body, &b"\x00\x01bin"[..]);
    assert_eq!(h(&ev[0], "host"), Some("web 1"));
    assert_eq!(h(&ev[0], "x"), Some("y"));
    src.stop().await;
}

#[tokio::test]
async fn other_methods_get_405() {
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1"),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    let (status, _) = request(&mut c, "PUT", "/", None, b"[]").await;
    assert_eq!(status, 405);
    src.stop().await;
}

#[test]
fn an_unknown_handler_is_a_config_error_naming_the_supported_ones() {
    let text = "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = http\n\
                a1.sources.r1.port = 5140\na1.sources.r1.handler = com.acme.Handler\n\
                a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n";
    let loaded = sluice::agent::topology::load(text, "a1", &[]);
    assert!(loaded.config.is_none());
    let p = loaded
        .problems
        .iter()
        .find(|p| p.key == "a1.sources.r1.handler")
        .expect("a handler problem");
    assert!(p.message.contains("JSONHandler"), "{}", p.message);
    assert_eq!(p.render("f").split(':').nth(1), Some("5"));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1\nheaderReadTimeout = 200"),
        1000,
        100,
    );
    let mut s = connect(port).await;
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(WAIT, s.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "slow client kept open");
    src.stop().await;
}

#[tokio::test]
async fn at_max_connections_a_new_connection_closes_the_idle_one_and_is_served() {
    use tokio::io::AsyncReadExt;
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1\nmaxConnections = 1"),
        1000,
        100,
    );
    let mut first = BufReader::new(connect(port).await);
    let (status, _) = request(&mut first, "POST", "/", None, b"[]").await;
    assert_eq!(status, 200);
    // The first is idle between requests (keep-alive): closed for the second, at once.
    let mut second = BufReader::new(connect(port).await);
    let mut buf = [0u8; 1];
    let r = tokio::time::timeout(WAIT, first.get_mut().read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection not closed: {r:?}"
    );
    let (status, _) = request(&mut second, "POST", "/", None, br#"[{"body":"a"}]"#).await;
    assert_eq!(status, 200);
    assert_eq!(src.drain().await.len(), 1);
    src.stop().await;
}

#[tokio::test]
async fn the_http_source_serves_https_with_a_pem_keystore() {
    let port = free_port();
    let src = start(
        &format!(
            "type = http\nport = {port}\nbind = 127.0.0.1\nssl = true\nkeystore = {}",
            keystore().display()
        ),
        1000,
        100,
    );
    let tls = connect_tls(port).await;
    let mut c = BufReader::new(tls);
    let body = br#"[{"body":"secret"}]"#;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    {
        use tokio::io::AsyncWriteExt;
        let s = c.get_mut();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        s.flush().await.unwrap();
    }
    let (status, _) = read_response(&mut c).await;
    assert_eq!(status, 200);
    assert_eq!(src.drain().await[0].body, &b"secret"[..]);
    src.stop().await;
}

#[tokio::test]
async fn a_chunked_body_is_cut_off_with_413_once_it_passes_max_body_bytes() {
    use tokio::io::AsyncWriteExt;
    let port = free_port();
    let src = start(
        &format!("type = http\nport = {port}\nbind = 127.0.0.1\nmaxBodyBytes = 100"),
        1000,
        100,
    );
    let mut c = BufReader::new(connect(port).await);
    let body = json_batch("x", 20);
    let mut req = String::from("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for part in body.as_bytes().chunks(40) {
        req.push_str(&format!(
            "{:x}\r\n{}\r\n",
            part.len(),
            String::from_utf8_lossy(part)
        ));
    }
    req.push_str("0\r\n\r\n");
    c.get_mut().write_all(req.as_bytes()).await.unwrap();
    let (status, text) = read_response(&mut c).await;
    assert_eq!(status, 413);
    assert!(text.contains("maxBodyBytes"), "{text}");
    assert!(src.drain().await.is_empty());
    src.stop().await;
}
