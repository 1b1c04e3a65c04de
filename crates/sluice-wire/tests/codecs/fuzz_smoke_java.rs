//! A bounded, deterministic smoke run of the `java_frames` fuzz target's body
//! (`fuzz/src/java_frames.rs`, included by path): seeded random bytes and mutations of valid
//! frame streams; none may panic. The real fuzzing is `cargo fuzz run java_frames` in `fuzz/`.

#[path = "../../../../fuzz/src/java_frames.rs"]
mod java_frames;

use sluice_core::Event;
use sluice_wire::java::frame::{
    encode_from_jvm, encode_to_jvm, FromJvm, GroupCounts, Role, Status, ToJvm,
};

use super::smoke_rng::SplitMix as Rng;

fn seed() -> Vec<u8> {
    let events = vec![
        Event::new("hello").header("host", "h1"),
        Event::new(vec![0u8; 20]),
    ];
    let mut s = Vec::new();
    for f in [
        FromJvm::Put(events.clone()),
        FromJvm::Take(100),
        FromJvm::Commit(3),
        FromJvm::Rollback,
        FromJvm::Ack(Status::Ok, String::new()),
        FromJvm::Counters(vec![GroupCounts {
            kind: "SINK".into(),
            name: "k1".into(),
            counts: vec![("sink.event.drain.sucess".into(), 7)],
        }]),
        FromJvm::Failed("oom".into()),
    ] {
        s.extend(encode_from_jvm(&f));
    }
    for t in [
        ToJvm::Configure {
            role: Role::Source,
            class: "a.B".into(),
            name: "r1".into(),
            props: vec![("k".into(), "v".into())],
        },
        ToJvm::Taken(events),
        ToJvm::PutDone(Status::Full, "full".into()),
        ToJvm::TxDone(Status::Error, "no".into()),
    ] {
        s.extend(encode_to_jvm(&t));
    }
    s
}

#[test]
fn java_frame_decoding_survives_random_and_mutated_streams() {
    let seed = seed();
    java_frames::run(&seed);
    let mut rng = Rng(0x1A7A_F2A3);
    for _ in 0..6_000 {
        let mut b = seed.clone();
        if rng.below(10) == 0 {
            let n = rng.below(200);
            b = (0..n).map(|_| rng.next() as u8).collect();
        }
        for _ in 0..1 + rng.below(4) {
            if b.is_empty() {
                break;
            }
            let i = rng.below(b.len());
            match rng.below(3) {
                0 => b[i] = rng.next() as u8,
                1 => b.truncate(i),
                _ => b.insert(i, rng.next() as u8),
            }
        }
        java_frames::run(&b);
    }
}
