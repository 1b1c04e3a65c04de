//! Tests of the avro RPC client against scripted servers on loopback.

use super::*;
use crate::wire::avro::call::{encode_status_response, CallLimits};
use crate::wire::avro::server::{Action, ServerConn};
use crate::wire::avro::{HandshakeMatch, HandshakeResponse, KnownClients};
use tokio::net::TcpListener;

/// A server on the pure state machine that answers `NONE` to the first request of each
/// connection (as if it did not know our hash) and `FAILED` to batches of 2 events.
async fn fake_server(listener: TcpListener, received: tokio::sync::mpsc::Sender<Vec<Event>>) {
    while let Ok((mut s, _)) = listener.accept().await {
        let received = received.clone();
        tokio::spawn(async move {
            let mut conn = ServerConn::new(CallLimits::default());
            let mut known = KnownClients::default();
            let mut reader = FrameReader::new(FrameLimits::default());
            let mut first = true;
            loop {
                while let Ok(Some(f)) = reader.next_frame() {
                    let mut out = Vec::new();
                    if first {
                        first = false;
                        let mut hs = Vec::new();
                        HandshakeResponse::with_protocol(HandshakeMatch::None).encode(&mut hs);
                        encode_frame(f.serial, &[hs], &mut out);
                    } else {
                        match conn.on_request(&f.payload, &mut known).unwrap() {
                            Action::Reply(b) => encode_frame(f.serial, &b, &mut out),
                            Action::Put {
                                events, handshake, ..
                            } => {
                                let st = if events.len() == 2 {
                                    Status::Failed
                                } else {
                                    Status::Ok
                                };
                                received.send(events).await.unwrap();
                                encode_frame(
                                    f.serial,
                                    &encode_status_response(handshake, st),
                                    &mut out,
                                );
                            }
                            Action::Refuse { .. } => return,
                        }
                    }
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
                match s.read_buf(reader.read_buffer(4096)).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
    }
}

/// A client connected to a [`fake_server`], and what the server receives.
async fn connected() -> (AvroClient, tokio::sync::mpsc::Receiver<Vec<Event>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(fake_server(listener, tx));
    let c = AvroClient::connect(&addr, AvroClientConfig::default())
        .await
        .unwrap();
    (c, rx)
}

#[tokio::test]
async fn the_client_resends_after_none_and_reports_failed_batches() {
    let (mut c, mut rx) = connected().await;
    let one = vec![Event::new("a").header("h", "1")];
    c.append_batch(&one).await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), one);
    c.append(&Event::new("b")).await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), vec![Event::new("b")]);
    let two = vec![Event::new("x"), Event::new("y")];
    let e = c.append_batch(&two).await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Status {
                status: Status::Failed,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_silent_server_makes_connect_time_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let cfg = AvroClientConfig {
        connect_timeout: Duration::from_millis(200),
        ..AvroClientConfig::default()
    };
    let e = AvroClient::connect(&addr, cfg).await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Link(LinkError::Timeout {
                what: "handshake",
                ..
            })
        ),
        "{e}"
    );
    drop(listener);
}

#[tokio::test]
async fn a_large_batch_with_spliced_bodies_arrives_whole_through_partial_writes() {
    // The server reads 4 KiB at a time: the client's `writev` of the 1.4 MiB call returns
    // short many times, in the middle of bodies and between them.
    let (mut c, mut rx) = connected().await;
    assert!(c.stream.is_write_vectored(), "plain TCP writes vectored");
    let batch: Vec<Event> = (0..1000u32)
        .map(|i| {
            // Bodies below and above the splicing size, one empty.
            let len = [0, 100, 511, 512, 1500, 4000][i as usize % 6];
            let body: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            Event::new(body).header("i", i.to_string())
        })
        .collect();
    c.append_batch(&batch).await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), batch);
    c.append_batch(&batch[..1]).await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), batch[..1].to_vec());
    assert!(c.params.is_empty(), "no body is held past its call");
}
