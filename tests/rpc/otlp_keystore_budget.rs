//! Keystores that would choose the agent's CPU (issue 87, item 8), against a real agent:
//! - a PKCS12 store of 4,096 encrypted contents at 5,000,000 PBKDF2 iterations each (round
//!   7's store kept `config check` busy past 75 s) is refused by `config check` naming the
//!   file and the budget of key-derivation iterations per load, before any derivation runs;
//! - an `openssl pkcs12 -export -iter 1000000` store (seconds of key derivation, within the
//!   budget) loads, and while the otlp source loads it at start, a netcat source beside it
//!   answers lines: the load runs off the async workers (one worker here, as on 2 CPUs).

use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::hostile_support::netcat_flow;
use crate::support::multihop::Proc;
use crate::support::otel_support::otlp_source;
use crate::support::ports::free_port;
use crate::support::rpcsec_support::{Pki, PASSWORD};

/// A DER element of `tag` holding `body`.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let len = body.len() as u64;
    if len < 0x80 {
        v.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        v.push(0x80 | (8 - skip) as u8);
        v.extend_from_slice(&bytes[skip..]);
    }
    v.extend_from_slice(body);
    v
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A DER INTEGER of `n`.
fn int(n: u32) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    let mut body = bytes[skip..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    tlv(0x02, &body)
}

/// An OBJECT IDENTIFIER of its encoded `arcs`.
fn oid(arcs: &[u8]) -> Vec<u8> {
    tlv(0x06, arcs)
}

const DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
const ENCRYPTED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06];
const PBES2: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D];
const PBKDF2: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C];
const HMAC_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x09];
const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A];

/// A PKCS12 store (no MAC) of `contents` encrypted contents, each declaring PBES2 with
/// PBKDF2-HMAC-SHA-256 at `iterations` and AES-256-CBC over 16 bytes.
fn many_contents(contents: usize, iterations: u32) -> Vec<u8> {
    let kdf = seq(&[
        oid(PBKDF2),
        seq(&[
            tlv(0x04, &[7; 8]),
            int(iterations),
            seq(&[oid(HMAC_SHA256), vec![0x05, 0x00]]),
        ]),
    ]);
    let alg = seq(&[
        oid(PBES2),
        seq(&[kdf, seq(&[oid(AES256_CBC), tlv(0x04, &[9; 16])])]),
    ]);
    let enc_content_info = seq(&[oid(DATA), alg, tlv(0x80, &[3; 16])]);
    let content = seq(&[
        oid(ENCRYPTED_DATA),
        tlv(0xA0, &seq(&[int(0), enc_content_info])),
    ]);
    let auth_safe = tlv(0x30, &content.repeat(contents));
    seq(&[int(3), seq(&[oid(DATA), tlv(0xA0, &tlv(0x04, &auth_safe))])])
}

#[test]
fn config_check_refuses_a_store_of_4096_costly_bags_naming_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("bags.p12");
    std::fs::write(&store, many_contents(4096, 5_000_000)).unwrap();
    let conf = tmp.path().join("a.properties");
    let mut c = String::from("a.sources = g\na.channels = c1\na.sinks = k1\n");
    c += &otlp_source("a", "g", "grpc", free_port(), "c1");
    c += &format!(
        "a.sources.g.ssl = true\na.sources.g.keystore = {}\n\
         a.sources.g.keystore-password = {PASSWORD}\na.sources.g.keystore-type = PKCS12\n\
         a.channels.c1.type = memory\na.sinks.k1.type = null\na.sinks.k1.channel = c1\n",
        store.display()
    );
    std::fs::write(&conf, c).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&store.display().to_string()), "{text}");
    assert!(text.contains("KDF_ITERATIONS_BUDGET"), "{text}");
    assert!(text.contains("more than the 20000000"), "{text}");
}

/// `openssl pkcs12 -export` of the test PKI's server key and chain at `iterations` (MAC,
/// certificates and key), into `dir/<name>`.
fn openssl_store(pki: &Pki, name: &str, iterations: u32) -> String {
    let out = Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-in",
            "server.pem",
            "-inkey",
            "server.key",
        ])
        .args(["-certfile", "ca.pem", "-name", "server", "-out", name])
        .args(["-iter", &iterations.to_string(), "-passout"])
        .arg(format!("pass:{PASSWORD}"))
        .current_dir(&pki.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pki.path(name)
}

#[test]
fn a_netcat_source_answers_while_the_otlp_source_beside_it_loads_a_costly_keystore() {
    let tmp = tempfile::tempdir().unwrap();
    let pki_dir = tmp.path().join("pki");
    std::fs::create_dir_all(&pki_dir).unwrap();
    let pki = Pki::generate(&pki_dir);
    let store = openssl_store(&pki, "costly.p12", 1_000_000);
    let (nc, grpc) = (free_port(), free_port());
    let mut c = String::from("a.sources = r1 g\na.channels = c1\na.sinks = k1\n");
    c += &format!(
        "a.sources.r1.type = netcat\na.sources.r1.bind = 127.0.0.1\na.sources.r1.port = {nc}\n\
         a.sources.r1.channels = c1\n"
    );
    c += &otlp_source("a", "g", "grpc", grpc, "c1");
    for l in pki.source_keys("costly.p12").lines() {
        c += &format!("a.sources.g.{l}\n");
    }
    c += "a.channels.c1.type = memory\na.channels.c1.capacity = 100000\n\
          a.channels.c1.transactionCapacity = 1000\n\
          a.sinks.k1.type = null\na.sinks.k1.channel = c1\na.sinks.k1.batchSize = 1000\n";
    let agent = Proc::start(tmp.path(), "a", &c, nc, &["--worker-threads", "1"]);
    let flow = netcat_flow(nc);
    // The otlp port opens once its keystore is read.
    let end = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", grpc)).is_err() {
        assert!(
            Instant::now() < end,
            "{store}: never served\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = flow.acks.load(Ordering::Relaxed);
    let (total, _) = flow.finish();
    eprintln!("netcat lines answered while the keystore loaded: {during} ({total} in all)");
    assert!(during > 0, "{}", agent.log_text());
}
