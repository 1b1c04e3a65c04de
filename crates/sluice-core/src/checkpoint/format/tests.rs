//! Round-trip, damage and layout tests of the checkpoint codec.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::*;

fn sample() -> CheckpointImage {
    CheckpointImage {
        created_ms: 5,
        seq_next: 100,
        txid_next: 7,
        segment_next: 3,
        positions: vec![DirPosition {
            dir: "/d".into(),
            segment: 2,
            offset: 32,
        }],
        deps: vec![(2, 1), (3, 1)],
        entries: vec![
            (
                10,
                EventPtr {
                    segment: 1,
                    offset: 32,
                },
            ),
            (
                11,
                EventPtr {
                    segment: 1,
                    offset: 80,
                },
            ),
        ],
    }
}

#[test]
fn image_round_trips_with_the_documented_layout() {
    let img = sample();
    let b = encode(&img);
    assert_eq!(&b[0..8], b"SLUICECP");
    assert_eq!(b.len(), 48 + (4 + 2 + 4 + 8) + (4 + 2 * 8) + 8 + 2 * 16 + 4);
    assert_eq!(decode(&b).unwrap(), img);
}

#[test]
fn every_truncation_and_bit_flip_is_rejected() {
    let b = encode(&sample());
    for n in 0..b.len() {
        assert!(decode(&b[..n]).is_err(), "truncation to {n} accepted");
    }
    for i in 0..b.len() {
        let mut c = b.clone();
        c[i] ^= 0x10;
        assert!(decode(&c).is_err(), "flip at {i} accepted");
    }
}

#[test]
fn nonzero_flags_are_refused_even_with_a_good_checksum() {
    let mut b = encode(&sample());
    b[CHECKPOINT_FLAGS_AT.start] = 1;
    let body_end = b.len() - CHECKPOINT_CRC_BYTES;
    let crc = crc32fast::hash(&b[..body_end]);
    b[body_end..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode(&b).unwrap_err(),
        CheckpointError::Malformed("flags are not zero")
    );
}

#[test]
#[should_panic(expected = "not strictly increasing")]
fn encoding_unsorted_entries_is_a_bug_the_encoder_refuses() {
    let mut img = sample();
    img.entries.reverse();
    encode(&img);
}

#[test]
fn the_layout_constants_match_the_encoded_bytes() {
    let img = sample();
    let b = encode(&img);
    assert_eq!(LE::read_u64(&b[CHECKPOINT_SEQ_NEXT_AT]), img.seq_next);
    assert_eq!(
        LE::read_u32(&b[CHECKPOINT_SEGMENT_NEXT_AT]),
        img.segment_next
    );
    assert_eq!(LE::read_u32(&b[CHECKPOINT_N_DIRS_AT]), 1);
    assert_eq!(
        b.len(),
        CHECKPOINT_BYTES_MIN + (4 + 2 + 12) + 2 * DEP_BYTES + 2 * ENTRY_BYTES
    );
}
