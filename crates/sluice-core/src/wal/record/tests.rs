//! Golden-byte, round-trip and damage tests of the record codec.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::*;

#[test]
fn nonzero_reserved_bytes_are_refused_even_with_a_good_checksum() {
    let mut buf = Vec::new();
    encode_commit(&mut buf, 0, 1, 2, 0, 0);
    assert!(plausible_frame(&buf).is_some());
    buf[10] = 7;
    let crc = crc32fast::hash(&buf[4..]);
    buf[0..4].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_meta(&buf, 0).unwrap_err(),
        DecodeError::Malformed("reserved header bytes are not zero")
    );
    assert!(decode(&buf, 0).is_err());
    assert_eq!(plausible_frame(&buf), None);
}

#[test]
fn put_record_has_the_documented_golden_bytes() {
    let ev = Event::new(b"hi".to_vec()).header("k", "v");
    let mut buf = Vec::new();
    encode_put(&mut buf, 0, 7, 9, &ev);
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
        0,
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
    encode_commit(&mut c, 0, 1, 2, 10, 20);
    assert_eq!(c.len(), COMMIT_RECORD_BYTES);
    assert_eq!(c[8], 3);
    assert_eq!(c[28..], [10, 0, 0, 0, 20, 0, 0, 0]);
    let mut r = Vec::new();
    encode_rollback(&mut r, 0, 1, 2);
    assert_eq!(r.len(), ROLLBACK_RECORD_BYTES);
    assert_eq!(r[4..12], [20, 0, 0, 0, 4, 0, 0, 0]);
}

#[test]
fn every_record_kind_round_trips() {
    let ev = Event::new(vec![0u8, 255, 3])
        .header("a", "")
        .header("b", "é");
    let mut buf = Vec::new();
    encode_put(&mut buf, 0, 1, 10, &ev);
    encode_take(
        &mut buf,
        0,
        2,
        11,
        10,
        EventPtr {
            segment: 1,
            offset: 32,
        },
    );
    encode_commit(&mut buf, 0, 2, 12, 0, 1);
    encode_rollback(&mut buf, 0, 1, 13);
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let (rec, n) = decode(&buf[pos..], 0).unwrap();
        pos += n;
        out.push(rec);
    }
    assert_eq!(out.len(), 4);
    assert_eq!(out[0].body, RecordBody::Put(ev));
    assert_eq!(out[1].kind(), RecordKind::Take);
    assert_eq!(
        out[2].body,
        RecordBody::Commit {
            puts: 0,
            takes: 1,
            ids: vec![],
            cursors: vec![]
        }
    );
    assert_eq!(out[3].body, RecordBody::Rollback);
    assert_eq!(out[3].seq, 13);
}

/// Flume's header order depends on the order the headers were put (two keys of one
/// `HashMap` bucket print in it): a put record keeps it (issue 87).
#[test]
fn a_put_record_keeps_the_headers_insertion_order() {
    let ev = Event::new(b"x".to_vec())
        .header("headerKey2", "v2")
        .header("datacenter", "NEW_YORK")
        .header("a", "1");
    let mut buf = Vec::new();
    encode_put(&mut buf, 0, 1, 10, &ev);
    let (rec, _) = decode(&buf, 0).unwrap();
    let RecordBody::Put(back) = rec.body else {
        panic!("not a put")
    };
    let keys: Vec<&str> = back.headers.iter_inserted().map(|(k, _)| k).collect();
    assert_eq!(keys, ["headerKey2", "datacenter", "a"]);
}

#[test]
fn a_flipped_bit_anywhere_is_a_checksum_or_frame_error() {
    let mut buf = Vec::new();
    encode_put(&mut buf, 0, 1, 2, &Event::new(b"payload".to_vec()));
    for i in 0..buf.len() {
        let mut b = buf.clone();
        b[i] ^= 0x01;
        assert!(decode(&b, 0).is_err(), "flip at byte {i} went unnoticed");
    }
}

#[test]
fn zeroes_and_short_input_are_reported_as_such() {
    assert_eq!(decode(&[0u8; 64], 0).unwrap_err(), DecodeError::Zeroed);
    let mut buf = Vec::new();
    encode_commit(&mut buf, 0, 1, 2, 0, 0);
    assert!(matches!(
        decode(&buf[..buf.len() - 1], 0).unwrap_err(),
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
    encode_put(&mut Vec::new(), 0, 1, 1, &ev);
}

#[test]
fn salt_zero_is_plain_crc32_so_version_1_segments_read_as_before() {
    for bytes in [&b""[..], b"a", b"some record bytes", &[0u8; 300][..]] {
        assert_eq!(record_crc(0, bytes), crc32fast::hash(bytes));
    }
    let mut buf = Vec::new();
    encode_commit(&mut buf, 0, 1, 2, 0, 0);
    assert_eq!(LE::read_u32(&buf[0..4]), crc32fast::hash(&buf[4..]));
}

#[test]
fn a_record_salted_for_one_segment_fails_the_checksum_of_every_other() {
    let mut buf = Vec::new();
    encode_put(&mut buf, 7, 1, 2, &Event::new(b"payload".to_vec()));
    assert!(decode(&buf, 7).is_ok());
    for other in [0u32, 1, 6, 8, 0x8000_0007, u32::MAX] {
        assert!(
            matches!(decode(&buf, other), Err(DecodeError::Checksum { .. })),
            "salt {other} read a record of salt 7"
        );
        assert!(decode_meta(&buf, other).is_err());
    }
}

#[test]
fn resalt_rewrites_every_frame_for_the_segment_the_bytes_landed_in() {
    let mut buf = Vec::new();
    encode_put(&mut buf, 3, 1, 10, &Event::new(b"a".to_vec()));
    encode_put(&mut buf, 3, 1, 11, &Event::new(b"bb".to_vec()));
    encode_commit(&mut buf, 3, 1, 12, 2, 0);
    resalt(&mut buf, 4);
    let mut pos = 0;
    let mut n = 0;
    while pos < buf.len() {
        assert!(decode(&buf[pos..], 3).is_err());
        let (_, len) = decode(&buf[pos..], 4).unwrap();
        pos += len;
        n += 1;
    }
    assert_eq!(n, 3);
    assert!(first_frame_salted_with(&buf, 4));
}
