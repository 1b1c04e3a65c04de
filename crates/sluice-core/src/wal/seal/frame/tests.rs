use std::sync::Arc;

use super::*;
use crate::event::Event;
use crate::wal::record::{decode, encode_commit, encode_put, encode_take, RecordBody};
use crate::wal::seal::FrameCodec;
use crate::wal::EventPtr;

fn key(segment: u32) -> SegmentKey {
    SegmentKey::new(&[7u8; DATA_KEY_BYTES], segment, [1, 2, 3, 4], "key-0").unwrap()
}

/// A put, a take and a commit, plain (salt 9).
fn plain() -> Vec<u8> {
    let mut b = Vec::new();
    encode_put(&mut b, 9, 5, 100, &Event::new(&b"secret marker 42"[..]));
    let ptr = EventPtr {
        segment: 3,
        offset: 192,
    };
    encode_take(&mut b, 9, 5, 101, 77, ptr);
    encode_commit(&mut b, 9, 5, 102, 1, 1);
    b
}

fn sealed_at(k: &SegmentKey, offset: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let n = k.seal_frames(&plain(), &mut out, offset);
    assert_eq!(n, plain().len() + 3 * SEAL_OVERHEAD);
    out
}

/// The sealed frames' (offset, length) within `bytes`.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut v = Vec::new();
    while at < bytes.len() {
        let t = frame_len(&bytes[at..]).unwrap();
        v.push((at, t));
        at += t;
    }
    v
}

#[test]
fn sealed_records_open_to_what_was_sealed_and_hide_their_bodies() {
    let k = Arc::new(key(9));
    let sealed = sealed_at(&k, 192);
    assert!(!sealed.windows(b"secret".len()).any(|w| w == b"secret"));
    let codec = FrameCodec::sealed(k.clone());
    let plain = plain();
    let (mut p, mut s) = (0, 0);
    for (at, total) in frames(&sealed) {
        let (rec, len) = codec.decode(&sealed[at..], 192 + at as u64).unwrap();
        assert_eq!(len, total);
        let (want, plen) = decode(&plain[p..], 9).unwrap();
        assert_eq!(rec, want);
        p += plen;
        s += total;
    }
    assert_eq!(s, sealed.len());
    assert_eq!(k.sealed(), 3, "one nonce counter per record");
    let (rec, _) = codec.decode(&sealed, 192).unwrap();
    let RecordBody::Put(ev) = rec.body else {
        panic!("not a put")
    };
    assert_eq!(&ev.body[..], b"secret marker 42");
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    let k = key(9);
    let sealed = sealed_at(&k, 192);
    let (at, total) = frames(&sealed)[0];
    for i in at..at + total {
        let mut b = sealed.clone();
        b[i] ^= 0x01;
        assert!(k.open_frame(&b[at..], 192).is_err(), "flip at {i}");
    }
    // The CRC recomputed after the flip: only the tag can tell.
    for i in RECORD_HEADER_BYTES..total {
        let mut b = sealed[at..at + total].to_vec();
        b[i] ^= 0x80;
        let crc = record_crc(9, &b[FRAME_LEN_AT.start..]);
        LE::write_u32(&mut b[FRAME_CRC_AT], crc);
        assert_eq!(k.open_frame(&b, 192), Err(DecodeError::Tag), "flip at {i}");
    }
}

#[test]
fn a_record_moved_to_another_place_segment_or_key_fails_its_tag() {
    let k = key(9);
    let sealed = sealed_at(&k, 192);
    let (_, t0) = frames(&sealed)[0];
    let first = &sealed[..t0];
    assert!(k.open_frame(first, 192).is_ok());
    assert_eq!(k.open_frame(first, 192 + 4096), Err(DecodeError::Tag));
    // Another segment: its salt differs, so re-salt the CRC first, as an attacker would.
    let other = key(10);
    let mut moved = first.to_vec();
    let crc = record_crc(10, &moved[FRAME_LEN_AT.start..]);
    LE::write_u32(&mut moved[FRAME_CRC_AT], crc);
    assert_eq!(other.open_frame(&moved, 192), Err(DecodeError::Tag));
    let stranger = SegmentKey::new(&[8u8; DATA_KEY_BYTES], 9, [1, 2, 3, 4], "key-0").unwrap();
    assert_eq!(stranger.open_frame(first, 192), Err(DecodeError::Tag));
    // Another transaction id in the clear header.
    let mut b = first.to_vec();
    b[crate::wal::record::FRAME_TXID_AT][0] ^= 1;
    let crc = record_crc(9, &b[FRAME_LEN_AT.start..]);
    LE::write_u32(&mut b[FRAME_CRC_AT], crc);
    assert_eq!(k.open_frame(&b, 192), Err(DecodeError::Tag));
}

#[test]
fn the_same_records_sealed_twice_take_new_nonces() {
    let k = key(9);
    let a = sealed_at(&k, 192);
    let b = sealed_at(&k, 192);
    assert_ne!(a, b, "a second seal at the same place reuses no nonce");
    let counters = |s: &[u8]| -> Vec<u64> {
        frames(s)
            .iter()
            .map(|(at, _)| LE::read_u64(&s[at + RECORD_HEADER_BYTES..at + RECORD_HEADER_BYTES + 8]))
            .collect()
    };
    assert_eq!(counters(&a), [0, 1, 2]);
    assert_eq!(counters(&b), [3, 4, 5]);
}
