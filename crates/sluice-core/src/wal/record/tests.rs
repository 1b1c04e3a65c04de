//! Golden-byte, round-trip and damage tests of the record codec.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::*;

#[test]
fn nonzero_reserved_bytes_are_refused_even_with_a_good_checksum() {
    let mut buf = Vec::new();
    encode_commit(&mut buf, 1, 2, 0, 0);
    assert!(plausible_frame(&buf).is_some());
    buf[10] = 7;
    let crc = crc32fast::hash(&buf[4..]);
    buf[0..4].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_meta(&buf).unwrap_err(),
        DecodeError::Malformed("reserved header bytes are not zero")
    );
    assert!(decode(&buf).is_err());
    assert_eq!(plausible_frame(&buf), None);
}

#[test]
fn put_record_has_the_documented_golden_bytes() {
    let ev = Event::new(b"hi".to_vec()).header("k", "v");
    let mut buf = Vec::new();
    encode_put(&mut buf, 7, 9, &ev);
    let expected: Vec<u8> = [
        &[0u8; 4][..],             // crc, checked below
        &[40, 0, 0, 0],            // len = 48 - 8
        &[1, 0, 0, 0],             // kind put + reserved
        &[7, 0, 0, 0, 0, 0, 0, 0], // txid
        &[9, 0, 0, 0, 0, 0, 0, 0], // seq
        &[1, 0, 0, 0],             // one header
        &[1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v'],
        &[2, 0, 0, 0, b'h', b'i'],
    ]
    .concat();
    assert_eq!(buf.len(), expected.len());
    assert_eq!(buf[4..], expected[4..]);
    assert_eq!(LE::read_u32(&buf[0..4]), crc32fast::hash(&buf[4..]));
    assert_eq!(buf.len(), put_record_len(&ev));
}

#[test]
fn take_commit_rollback_have_the_documented_golden_bytes() {
    let mut buf = Vec::new();
    encode_take(
        &mut buf,
        1,
        2,
        3,
        EventPtr {
            segment: 4,
            offset: 5,
        },
    );
    assert_eq!(buf.len(), TAKE_RECORD_BYTES);
    assert_eq!(
        buf[4..],
        [
            36, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0,
            0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0
        ]
    );
    let mut c = Vec::new();
    encode_commit(&mut c, 1, 2, 10, 20);
    assert_eq!(c.len(), COMMIT_RECORD_BYTES);
    assert_eq!(c[8], 3);
    assert_eq!(c[28..], [10, 0, 0, 0, 20, 0, 0, 0]);
    let mut r = Vec::new();
    encode_rollback(&mut r, 1, 2);
    assert_eq!(r.len(), ROLLBACK_RECORD_BYTES);
    assert_eq!(r[4..12], [20, 0, 0, 0, 4, 0, 0, 0]);
}

#[test]
fn every_record_kind_round_trips() {
    let ev = Event::new(vec![0u8, 255, 3])
        .header("a", "")
        .header("b", "é");
    let mut buf = Vec::new();
    encode_put(&mut buf, 1, 10, &ev);
    encode_take(
        &mut buf,
        2,
        11,
        10,
        EventPtr {
            segment: 1,
            offset: 32,
        },
    );
    encode_commit(&mut buf, 2, 12, 0, 1);
    encode_rollback(&mut buf, 1, 13);
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let (rec, n) = decode(&buf[pos..]).unwrap();
        pos += n;
        out.push(rec);
    }
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].body, RecordBody::Put(ev));
    assert_eq!(out[1].kind(), RecordKind::Take);
    assert_eq!(out[2].body, RecordBody::Commit { puts: 0, takes: 1 });
    assert_eq!(out[3].body, RecordBody::Rollback);
    assert_eq!(out[3].seq, 13);
}

#[test]
fn a_flipped_bit_anywhere_is_a_checksum_or_frame_error() {
    let mut buf = Vec::new();
    encode_put(&mut buf, 1, 2, &Event::new(b"payload".to_vec()));
    for i in 0..buf.len() {
        let mut b = buf.clone();
        b[i] ^= 0x01;
        assert!(decode(&b).is_err(), "flip at byte {i} went unnoticed");
    }
}

#[test]
fn zeroes_and_short_input_are_reported_as_such() {
    assert_eq!(decode(&[0u8; 64]).unwrap_err(), DecodeError::Zeroed);
    let mut buf = Vec::new();
    encode_commit(&mut buf, 1, 2, 0, 0);
    assert!(matches!(
        decode(&buf[..buf.len() - 1]).unwrap_err(),
        DecodeError::Truncated { .. }
    ));
}

#[test]
fn event_ptr_packs_into_u64_and_back() {
    let p = EventPtr {
        segment: 0xDEAD,
        offset: 0xBEEF_0001,
    };
    assert_eq!(EventPtr::from_u64(p.to_u64()), p);
}

#[test]
#[should_panic(expected = "assertion failed")]
fn encoding_an_event_that_failed_check_event_is_a_bug_the_encoder_refuses() {
    let mut ev = Event::new(Vec::new());
    for i in 0..=EVENT_HEADERS_MAX {
        ev.headers.insert(i.to_string(), String::new());
    }
    assert!(check_event(&ev).is_err());
    encode_put(&mut Vec::new(), 1, 1, &ev);
}
