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
        dedup: DedupImage {
            own_origin: 0xabc,
            own_next: 41,
            origins: vec![(
                0xabc,
                crate::dedup::OriginState {
                    last_seen_ms: 9,
                    ranges: vec![(0, 40)],
                },
            )],
        },
        cursors: vec![SavedCursor {
            key: "sink-a".into(),
            value: b"file-1:42".to_vec(),
            commit_seq: 77,
        }],
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
    assert_eq!(
        b.len(),
        48 + (4 + 2 + 4 + 8)
            + (4 + 2 * 8)
            + (20 + 20 + 16)
            + (4 + 4 + 6 + 4 + 9 + 8)
            + 8
            + 2 * 16
            + 4
    );
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
        CHECKPOINT_BYTES_MIN + (4 + 2 + 12) + 2 * DEP_BYTES + 36 + 23 + 8 + 2 * ENTRY_BYTES
    );
}

/// A version-1 image: the version-2 bytes of `img` (empty deduplication state) without the
/// section, re-checksummed.
fn version_1(img: &CheckpointImage) -> Vec<u8> {
    assert_eq!(img.dedup, DedupImage::default());
    assert!(img.cursors.is_empty());
    let b = encode(img);
    let at = CHECKPOINT_FIXED_BYTES + (4 + 2 + 12) + N_DEPS_BYTES + img.deps.len() * DEP_BYTES;
    let mut v1 = [&b[..at], &b[at + DEDUP_FIXED_BYTES + 4..b.len() - 4]].concat();
    v1[CHECKPOINT_VERSION_AT].copy_from_slice(&CHECKPOINT_VERSION_1.to_le_bytes());
    let crc = crc32fast::hash(&v1);
    v1.extend_from_slice(&crc.to_le_bytes());
    v1
}

#[test]
fn a_version_1_image_reads_with_an_empty_deduplication_state() {
    let img = CheckpointImage {
        dedup: DedupImage::default(),
        cursors: Vec::new(),
        ..sample()
    };
    assert_eq!(decode(&version_1(&img)).unwrap(), img);
}

#[test]
fn malformed_deduplication_ranges_are_refused() {
    let mut img = sample();
    img.dedup.origins[0].1.ranges = vec![(0, 10), (10, 20)];
    let b = std::panic::catch_unwind(|| encode(&img));
    assert!(b.is_err(), "the encoder wrote touching ranges");
}

#[test]
fn a_version_2_images_cursors_read_with_commit_seq_0() {
    let img = sample();
    let b = encode(&img);
    // Version 2: the same bytes without each cursor's trailing commit_seq (the one cursor's
    // sits just before n_entries).
    let seq_at = b.len() - CHECKPOINT_CRC_BYTES - img.entries.len() * ENTRY_BYTES - 8 - 8;
    assert_eq!(LE::read_u64(&b[seq_at..seq_at + 8]), 77);
    let mut v2 = [&b[..seq_at], &b[seq_at + 8..b.len() - CHECKPOINT_CRC_BYTES]].concat();
    v2[CHECKPOINT_VERSION_AT].copy_from_slice(&CHECKPOINT_VERSION_2.to_le_bytes());
    let crc = crc32fast::hash(&v2);
    v2.extend_from_slice(&crc.to_le_bytes());
    let read = decode(&v2).unwrap();
    assert_eq!(read.cursors[0].value, b"file-1:42");
    assert_eq!(read.cursors[0].commit_seq, 0);
    assert_eq!(read.entries, img.entries);
}
