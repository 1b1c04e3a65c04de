//! A bounded, deterministic smoke run of every fuzz target body (`fuzz/src/*.rs`, included
//! here by path): a few thousand seeded inputs per target, random bytes and mutations of
//! valid encodings, none of which may panic or hang. The real fuzzing is `cargo fuzz run
//! <target>` in `fuzz/` (see docs/testing.md).

#![allow(
    clippy::disallowed_methods,
    reason = "reads its fixture files from disk"
)]

#[path = "../../../../fuzz/src/acked_decode.rs"]
mod acked_decode;
#[path = "../../../../fuzz/src/avro_decode.rs"]
mod avro_decode;
#[path = "../../../../fuzz/src/channel_ops.rs"]
mod channel_ops;
#[path = "../../../../fuzz/src/checkpoint_decode.rs"]
mod checkpoint_decode;
#[path = "../../../../fuzz/src/record_decode.rs"]
mod record_decode;
#[path = "../../../../fuzz/src/segment_replay.rs"]
mod segment_replay;

use sluice_core::internals::checkpoint::format::encode;
use sluice_core::internals::checkpoint::{CheckpointImage, DirPosition};
use sluice_core::internals::wal::record::{
    encode_commit, encode_commit_with, encode_put, encode_rollback, encode_take, CommitExtras,
};
use sluice_core::internals::wal::EventPtr;
use sluice_core::Event;

use super::smoke_rng::SplitMix as Rng;

impl Rng {
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Flips, truncates, overwrites or splices a few bytes of `seed`.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(5) {
                0 if !b.is_empty() => {
                    let i = self.below(b.len());
                    b[i] ^= 1 << self.below(8);
                }
                1 if !b.is_empty() => {
                    let n = self.below(b.len());
                    b.truncate(n);
                }
                2 if !b.is_empty() => {
                    let i = self.below(b.len());
                    b[i] = [0, 0xFF, 0x7F, 0x80][self.below(4)];
                }
                3 => {
                    let i = self.below(b.len() + 1);
                    let extra = self.bytes(16);
                    b.splice(i..i, extra);
                }
                _ => {
                    let extra = self.bytes(32);
                    b.extend(extra);
                }
            }
        }
        b
    }
}

fn records() -> Vec<Vec<u8>> {
    let ptr = EventPtr {
        segment: 3,
        offset: 64,
    };
    let ev = Event::new(b"body".to_vec())
        .header("host", "a")
        .header("k", "v");
    let mut out = Vec::new();
    let mut b = Vec::new();
    encode_put(&mut b, 0, 1, 2, &ev);
    out.push(b);
    let mut b = Vec::new();
    encode_take(&mut b, 0, 1, 3, 2, ptr);
    out.push(b);
    let mut b = Vec::new();
    encode_commit(&mut b, 0, 1, 4, 1, 1);
    out.push(b);
    let mut b = Vec::new();
    let spans = [sluice_core::dedup::IdSpan::new(7, 0, 2).unwrap()];
    let cursors = [sluice_core::internals::wal::record::Cursor {
        key: "k1".into(),
        value: b"file:9".to_vec(),
    }];
    let extras = CommitExtras {
        ids: &spans,
        cursors: &cursors,
    };
    encode_commit_with(&mut b, 0, 1, 6, (2, 0), &extras);
    out.push(b);
    let mut b = Vec::new();
    encode_rollback(&mut b, 0, 1, 5);
    out.push(b);
    out
}

fn with_mode(rng: &mut Rng, b: Vec<u8>) -> Vec<u8> {
    let mut v = vec![rng.next() as u8];
    v.extend(b);
    v
}

#[test]
fn record_decoding_survives_random_and_mutated_records() {
    let mut rng = Rng(1);
    let seeds = records();
    for (i, s) in seeds.iter().enumerate() {
        // A valid record with the CRC fixed (odd mode byte) decodes and round-trips.
        let mut fixed = s.clone();
        record_decode::fix_record_crc(&mut fixed);
        assert_eq!(&fixed, s, "seed record {i} has a wrong CRC");
        let mut input = vec![1u8];
        input.extend(s);
        record_decode::run(&input);
    }
    for _ in 0..4_000 {
        let input = if rng.below(4) == 0 {
            rng.bytes(96)
        } else {
            let s = &seeds[rng.below(seeds.len())];
            let m = rng.mutate(s);
            with_mode(&mut rng, m)
        };
        record_decode::run(&input);
    }
}

#[test]
fn checkpoint_decoding_survives_random_and_mutated_images() {
    let mut rng = Rng(2);
    let img = CheckpointImage {
        created_ms: 1,
        seq_next: 40,
        txid_next: 9,
        segment_next: 4,
        positions: vec![
            DirPosition {
                dir: "/d0".into(),
                segment: 2,
                offset: 32,
            },
            DirPosition {
                dir: "/d1".into(),
                segment: 3,
                offset: 90,
            },
        ],
        entries: vec![
            (
                5,
                EventPtr {
                    segment: 2,
                    offset: 32,
                },
            ),
            (
                7,
                EventPtr {
                    segment: 3,
                    offset: 40,
                },
            ),
        ],
        dedup: sluice_core::internals::checkpoint::format::DedupImage {
            own_origin: 3,
            own_next: 9,
            origins: vec![(
                3,
                sluice_core::dedup::OriginState {
                    last_seen_ms: 1,
                    ranges: vec![(0, 8), (10, 12)],
                },
            )],
        },
        cursors: vec![sluice_core::internals::checkpoint::format::SavedCursor {
            key: "k1".into(),
            value: b"file:9".to_vec(),
            commit_seq: 3,
        }],
        ..CheckpointImage::default()
    };
    let seed = encode(&img);
    let mut fixed = seed.clone();
    checkpoint_decode::fix_checkpoint_crc(&mut fixed);
    assert_eq!(fixed, seed);
    for _ in 0..4_000 {
        let input = if rng.below(4) == 0 {
            rng.bytes(128)
        } else {
            let m = rng.mutate(&seed);
            with_mode(&mut rng, m)
        };
        checkpoint_decode::run(&input);
    }
}

#[test]
fn segment_replay_under_every_policy_survives_random_and_mutated_segments() {
    let mut rng = Rng(3);
    let prefix = segment_replay::valid_prefix();
    let seeds = records();
    for _ in 0..1_500 {
        let input = match rng.below(3) {
            0 => rng.bytes(200),
            // Mode 2: a valid prefix, then mutated records.
            1 => {
                let mut tail = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let s = &seeds[rng.below(seeds.len())];
                    tail.extend(if rng.below(2) == 0 {
                        s.clone()
                    } else {
                        rng.mutate(s)
                    });
                }
                let mut v = vec![2u8];
                v.extend(tail);
                v
            }
            // Mode 0: the whole segment (header included) mutated.
            _ => {
                let mut v = vec![0u8];
                v.extend(rng.mutate(&prefix));
                v
            }
        };
        segment_replay::run(&input);
    }
}

#[test]
fn channel_operation_sequences_with_power_losses_match_the_model() {
    let mut rng = Rng(4);
    for _ in 0..300 {
        let input = rng.bytes(80);
        channel_ops::run(&input);
    }
}

fn avro_seeds() -> Vec<Vec<u8>> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire");
    [
        "avro-conn-c2s.bin",
        "avro-nomatch-frame1-request.bin",
        "avro-nomatch-frame2-request.bin",
        "avro-conn-s2c.bin",
    ]
    .iter()
    .map(|n| std::fs::read(dir.join(n)).unwrap())
    .collect()
}

#[test]
fn avro_frame_and_handshake_decoding_survives_random_and_mutated_streams() {
    let mut rng = Rng(5);
    let seeds = avro_seeds();
    for s in &seeds {
        for mode in [0u8, 1, 14, 255] {
            let mut input = vec![mode];
            input.extend(s);
            avro_decode::run(&input);
        }
    }
    for _ in 0..4_000 {
        let input = if rng.below(4) == 0 {
            rng.bytes(160)
        } else {
            let s = &seeds[rng.below(seeds.len())];
            let m = rng.mutate(s);
            with_mode(&mut rng, m)
        };
        avro_decode::run(&input);
    }
}

#[test]
fn acked_end_decoding_survives_random_and_mutated_records() {
    let mut rng = Rng(11);
    let seed = sluice_core::internals::wal::acked::encode(&[(3, 4096), (4, 40), (9, 1 << 40)]);
    let mut fixed = seed.clone();
    acked_decode::fix_acked_crc(&mut fixed);
    assert_eq!(fixed, seed);
    for _ in 0..4_000 {
        let input = if rng.below(4) == 0 {
            rng.bytes(96)
        } else {
            let m = rng.mutate(&seed);
            with_mode(&mut rng, m)
        };
        acked_decode::run(&input);
    }
}
