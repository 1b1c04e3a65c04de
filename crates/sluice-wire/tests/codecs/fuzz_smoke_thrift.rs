//! A bounded, deterministic smoke run of the `thrift_decode` fuzz target's body
//! (`fuzz/src/thrift_decode.rs`, included by path): seeded random bytes and mutations of
//! Flume's compact frames and of binary-protocol calls, in both protocols, framed and as bare
//! payloads; none may panic. The real fuzzing is `cargo fuzz run thrift_decode` in `fuzz/`.

#![allow(
    clippy::disallowed_methods,
    reason = "reads its fixture files from disk"
)]

#[path = "../../../../fuzz/src/thrift_decode.rs"]
mod thrift_decode;

use sluice_core::Event;
use sluice_wire::thrift::{encode_call, encode_exception, encode_reply, ExceptionKind};
use sluice_wire::thrift::{Method, Protocol, Status};

use super::smoke_rng::XorShift as Rng;

/// Framed streams: Flume's capture and Sluice's encodings of calls and replies.
fn seeds() -> Vec<(Protocol, Vec<u8>)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire");
    let mut s = Vec::new();
    for name in ["thrift-conn-c2s.bin", "thrift-conn-s2c.bin"] {
        s.push((Protocol::Compact, std::fs::read(dir.join(name)).unwrap()));
    }
    let events = vec![
        Event::new("hello").header("host", "h1").header("k", "v"),
        Event::new(vec![0u8; 40]),
    ];
    for p in [Protocol::Compact, Protocol::Binary] {
        let mut out = Vec::new();
        encode_call(p, Method::AppendBatch, 1, &events, &mut out);
        encode_call(p, Method::Append, 2, &events[..1], &mut out);
        encode_reply(p, "append", 2, Status::Failed, &mut out);
        encode_exception(
            p,
            "append",
            3,
            ExceptionKind::UnknownMethod,
            "nope",
            &mut out,
        );
        s.push((p, out));
    }
    s
}

#[test]
fn thrift_decoding_survives_random_and_mutated_streams_in_both_protocols() {
    let seeds = seeds();
    let mut rng = Rng(0x7487_1F7D);
    for _ in 0..6_000 {
        let (protocol, seed) = &seeds[rng.below(seeds.len())];
        // Mode: bit 0 the protocol (mostly the seed's), bit 1 bare payload, the rest the step.
        let mut mode = (rng.next() as u8) & !3;
        if (*protocol == Protocol::Binary) != (rng.below(8) == 0) {
            mode |= 1;
        }
        let mut b = seed.clone();
        if rng.below(4) == 0 {
            mode |= 2;
            b.drain(..4.min(b.len()));
        }
        if rng.below(10) == 0 {
            let n = rng.below(200);
            b = (0..n).map(|_| rng.next() as u8).collect();
        }
        for _ in 0..1 + rng.below(4) {
            if b.is_empty() {
                break;
            }
            let i = rng.below(b.len());
            match rng.below(5) {
                0 => b[i] ^= 1 << rng.below(8),
                1 => b.truncate(i),
                2 => b[i] = [0, 0xff, 0x7f, 0x80, 0x0f][rng.below(5)],
                3 => b.insert(i, rng.next() as u8),
                _ => {
                    let dup = b[i..].to_vec();
                    b.extend(dup);
                }
            }
        }
        let mut input = vec![mode];
        input.extend(b);
        thrift_decode::run(&input);
    }
}
