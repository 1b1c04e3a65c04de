//! Golden bytes of a real Flume 1.11 exchange (`crates/sluice-wire/tests/fixtures/wire/`, copied from
//! `../shared/reference/wire/`, whose README decodes every byte): Sluice's codec decodes what
//! Flume's client sent, answers byte for byte as Flume's AvroSource did, and produces the
//! client's bytes as Flume's client did. Deflate streams are a later issue.

#![allow(
    clippy::disallowed_methods,
    reason = "reads its fixture files from disk"
)]

use std::path::PathBuf;

use sluice_core::Event;
use sluice_wire::avro::call::{decode_response, read_call, CallBody, CallLimits, Outcome};
use sluice_wire::avro::client::{ClientConn, IdsPolicy, Reply};
use sluice_wire::avro::server::{Action, ServerConn};
use sluice_wire::avro::{
    binary::Reader, encode_frame, FrameLimits, FrameReader, HandshakeMatch, HandshakeRequest,
    HandshakeResponse, KnownClients, Message, Status, PROTOCOL_JSON, PROTOCOL_MD5,
};

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn frames(stream: &[u8]) -> Vec<(i32, Vec<u8>)> {
    let mut r = FrameReader::new(FrameLimits::default());
    r.push(stream);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        out.push((f.serial, f.payload.to_vec()));
    }
    assert_eq!(r.pending(), 0);
    out
}

fn flume_events() -> Vec<Event> {
    ["hello", "world", ""]
        .iter()
        .map(|b| Event::new(*b).header("host", "h1"))
        .collect()
}

fn framed<B: AsRef<[u8]>>(serial: i32, buffers: &[B]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(serial, buffers, &mut out);
    out
}

#[test]
fn the_fixtures_are_the_shared_reference_bytes_when_it_is_there() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/wire");
    if !shared.is_dir() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire");
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name();
        let theirs = std::fs::read(shared.join(&name)).unwrap();
        assert_eq!(theirs, std::fs::read(dir.join(&name)).unwrap(), "{name:?}");
        compared += 1;
    }
    assert!(compared >= 16);
}

#[test]
fn the_protocol_text_is_the_one_whose_md5_flume_sends() {
    assert_eq!(PROTOCOL_JSON.as_bytes(), &fixture("avro-protocol.json")[..]);
    let hs = fixture("avro-handshake-request.bin");
    assert_eq!(&hs[..16], &PROTOCOL_MD5);
}

#[test]
fn flumes_connection_is_answered_byte_for_byte_as_flumes_server_did() {
    let c2s = fixture("avro-conn-c2s.bin");
    let expected = fixture("avro-conn-s2c.bin");
    // Any split of the stream, including empty pushes, gives the same frames.
    for cut in 0..=c2s.len() {
        let mut r = FrameReader::new(FrameLimits::default());
        let mut got = Vec::new();
        for part in [&c2s[..cut], &[][..], &c2s[cut..]] {
            r.push(part);
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), 2, "cut {cut}");
    }
    let mut conn = ServerConn::new(CallLimits::default());
    let mut known = KnownClients::default();
    let mut out = Vec::new();
    let mut delivered = Vec::new();
    for (serial, payload) in frames(&c2s) {
        match conn.on_request(&payload, &mut known).unwrap() {
            Action::Put {
                events, handshake, ..
            } => {
                delivered.extend(events);
                encode_frame(
                    serial,
                    &ServerConn::status_reply(handshake, Status::Ok),
                    &mut out,
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(out, expected);
    let mut want = flume_events();
    want.push(Event::new("hello").header("host", "h1"));
    assert_eq!(delivered, want);
    assert_eq!(out[..27], fixture("avro-frame1-response.bin")[..]);
    assert_eq!(out[27..], fixture("avro-frame2-response.bin")[..]);
}

#[test]
fn the_payload_slices_decode_as_the_readme_says() {
    let hs = fixture("avro-handshake-request.bin");
    let mut r = Reader::new(&hs);
    assert_eq!(
        HandshakeRequest::decode(&mut r).unwrap(),
        HandshakeRequest::flume()
    );
    r.finish("handshake").unwrap();
    let mut b = Vec::new();
    HandshakeResponse::both().encode(&mut b);
    assert_eq!(b, fixture("avro-handshake-response.bin"));

    let req = fixture("avro-appendBatch-request.bin");
    let call = read_call(&mut Reader::new(&req), &CallLimits::default()).unwrap();
    assert_eq!(call.body, CallBody::AppendBatch(flume_events()));
    let req = fixture("avro-append-request.bin");
    let call = read_call(&mut Reader::new(&req), &CallLimits::default()).unwrap();
    assert_eq!(
        call.body,
        CallBody::Append(Event::new("hello").header("host", "h1"))
    );
    for name in ["avro-appendBatch-response.bin", "avro-append-response.bin"] {
        let r = decode_response(&fixture(name), false).unwrap();
        assert_eq!(r.outcome, Some(Outcome::Status(Status::Ok)), "{name}");
    }
}

#[test]
fn sluices_client_sends_the_bytes_flumes_client_sent() {
    // A client that does not ask whether the server takes event ids (`eventIds = false`)
    // sends Flume's handshake byte for byte; the asking one adds `sluice.eventIds` to its meta.
    let mut client = ClientConn::new();
    client.set_ids_policy(IdsPolicy::Never);
    let f1 = framed(1, &client.request(Message::AppendBatch, &flume_events()));
    assert_eq!(f1, fixture("avro-frame1-request.bin"));
    let resp = frames(&fixture("avro-frame1-response.bin"));
    assert_eq!(
        client.on_response(&resp[0].1).unwrap(),
        Reply::Done(Outcome::Status(Status::Ok))
    );
    assert!(client.handshaken());
    let one = [Event::new("hello").header("host", "h1")];
    let f2 = framed(2, &client.request(Message::Append, &one));
    assert_eq!(f2, fixture("avro-frame2-request.bin"));
    let resp = frames(&fixture("avro-frame2-response.bin"));
    assert_eq!(
        client.on_response(&resp[0].1).unwrap(),
        Reply::Done(Outcome::Status(Status::Ok))
    );
}

#[test]
fn an_unknown_client_hash_gets_none_with_the_protocol_then_both_after_the_resend() {
    let mut conn = ServerConn::new(CallLimits::default());
    let mut known = KnownClients::default();
    let (serial, payload) = frames(&fixture("avro-nomatch-frame1-request.bin")).remove(0);
    let Action::Reply(bufs) = conn.on_request(&payload, &mut known).unwrap() else {
        panic!("NONE must not run the call");
    };
    assert_eq!(
        framed(serial, &bufs),
        fixture("avro-nomatch-frame1-response.bin")
    );
    assert!(!conn.handshaken());

    let (serial, payload) = frames(&fixture("avro-nomatch-frame2-request.bin")).remove(0);
    let Action::Put {
        events, handshake, ..
    } = conn.on_request(&payload, &mut known).unwrap()
    else {
        panic!("the resend runs");
    };
    assert_eq!(events, vec![Event::new("hello").header("host", "h1")]);
    let reply = framed(serial, &ServerConn::status_reply(handshake, Status::Ok));
    assert_eq!(reply, fixture("avro-nomatch-frame2-response.bin"));
}

#[test]
fn sluices_client_resends_with_its_protocol_after_none() {
    let mut client = ClientConn::new();
    let _ = client.request(Message::AppendBatch, &flume_events());
    let resp = frames(&fixture("avro-nomatch-frame1-response.bin"));
    assert_eq!(client.on_response(&resp[0].1).unwrap(), Reply::Resend);
    let [head, _] = client.request(Message::AppendBatch, &flume_events());
    let mut r = Reader::new(&head);
    let hs = HandshakeRequest::decode(&mut r).unwrap();
    assert_eq!(hs.client_protocol.as_deref(), Some(PROTOCOL_JSON));
    assert_eq!(hs.server_hash, PROTOCOL_MD5);
    // A server answering CLIENT completes the handshake as well.
    let mut b = Vec::new();
    HandshakeResponse::with_protocol(HandshakeMatch::Client).encode(&mut b);
    b.extend_from_slice(&[0, 0, 2]);
    assert_eq!(
        client.on_response(&b).unwrap(),
        Reply::Done(Outcome::Status(Status::Failed))
    );
    assert!(client.handshaken());
}

#[test]
fn a_handshake_with_an_unknown_protocol_is_refused_with_an_error_answer() {
    let mut conn = ServerConn::new(CallLimits::default());
    let mut hs = HandshakeRequest::flume();
    hs.client_hash = [9; 16];
    hs.client_protocol =
        Some(r#"{"protocol":"Mail","messages":{"send":{"request":[],"response":"null"}}}"#.into());
    let [head, params] =
        sluice_wire::avro::call::encode_request(Some(&hs), Message::Append, &[Event::new("x")]);
    let payload = [head, params].concat();
    let Action::Refuse { reply, error } = conn
        .on_request(&payload, &mut KnownClients::default())
        .unwrap()
    else {
        panic!("refused");
    };
    assert!(error.to_string().contains("Mail"), "{error}");
    let r = decode_response(&reply.concat(), true).unwrap();
    assert_eq!(r.handshake.unwrap().matched, HandshakeMatch::None);
    assert!(matches!(r.outcome, Some(Outcome::Error(m)) if m.contains("AvroSourceProtocol")));
}

#[test]
fn a_ping_gets_only_the_handshake_and_an_unknown_message_an_error() {
    let mut conn = ServerConn::new(CallLimits::default());
    let mut known = KnownClients::default();
    // A client that does not ask whether the server takes event ids (`eventIds = false`)
    // sends Flume's handshake byte for byte; the asking one adds `sluice.eventIds` to its meta.
    let mut client = ClientConn::new();
    client.set_ids_policy(IdsPolicy::Never);
    let ping = client.ping();
    let Action::Reply(bufs) = conn.on_request(&ping, &mut known).unwrap() else {
        panic!("a ping is answered at once");
    };
    assert_eq!(bufs, vec![vec![0, 0, 0, 0]]);
    assert_eq!(client.on_response(&bufs.concat()).unwrap(), Reply::Pong);
    let payload = [0u8, 8, b's', b'e', b'n', b'd'];
    let Action::Reply(bufs) = conn.on_request(&payload, &mut known).unwrap() else {
        panic!("unknown messages are answered with an error");
    };
    let r = decode_response(&bufs.concat(), false).unwrap();
    assert!(matches!(r.outcome, Some(Outcome::Error(m)) if m.contains("send")));
}
