//! The segment header codec's golden bytes, damage and version tests, and file naming.

use super::*;

#[test]
fn header_round_trips_and_rejects_damage() {
    let h = SegmentHeader::new(42, 1_700_000_000_000, 41);
    let b = encode_header(&h);
    assert_eq!(&b[0..8], b"SLUICEWL");
    assert_eq!(decode_header(&b).unwrap(), h);
    let mut bad = b;
    bad[13] ^= 1;
    assert_eq!(decode_header(&bad).unwrap_err(), HeaderError::Checksum);
    let mut bad = b;
    bad[0] = b'X';
    assert_eq!(decode_header(&bad).unwrap_err(), HeaderError::BadMagic);
    assert!(matches!(
        decode_header(&b[..10]),
        Err(HeaderError::Truncated(10))
    ));
}

#[test]
fn header_has_the_documented_golden_bytes_including_prev_in_dir() {
    let b = encode_header(&SegmentHeader::new(7, 0x0102_0304_0506_0708, 5));
    assert_eq!(&b[0..8], b"SLUICEWL");
    assert_eq!(b[8..12], [2, 0, 0, 0]);
    assert_eq!(b[12..16], [7, 0, 0, 0]);
    assert_eq!(b[16..24], [8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(b[24..28], [5, 0, 0, 0]);
    assert_eq!(LE::read_u32(&b[28..32]), crc32fast::hash(&b[0..28]));
}

#[test]
fn a_header_naming_a_newer_predecessor_is_refused_even_with_a_good_checksum() {
    let mut b = encode_header(&SegmentHeader::new(7, 1, 5));
    LE::write_u32(&mut b[SEGMENT_PREV_IN_DIR_AT], 9);
    let crc = crc32fast::hash(&b[..SEGMENT_CRC_AT.start]);
    LE::write_u32(&mut b[SEGMENT_CRC_AT], crc);
    assert_eq!(
        decode_header(&b).unwrap_err(),
        HeaderError::BadPredecessor {
            segment_id: 7,
            prev_in_dir: 9
        }
    );
}

#[test]
fn version_1_headers_still_decode_and_salt_their_records_with_zero() {
    let v1 = SegmentHeader {
        version: SEGMENT_VERSION_V1,
        ..SegmentHeader::new(9, 1, 8)
    };
    let b = encode_header(&v1);
    assert_eq!(b[8..12], [1, 0, 0, 0]);
    let back = decode_header(&b).unwrap();
    assert_eq!(back, v1);
    assert_eq!(back.record_salt(), 0);
    assert_eq!(SegmentHeader::new(9, 1, 8).record_salt(), 9);
    let sealed = decode_header(&encode_header(&SegmentHeader::sealed(9, 1, 8))).unwrap();
    assert!(sealed.is_sealed());
    assert_eq!(sealed.record_salt(), 9);
    assert_eq!(sealed.records_start(), 192);
    let mut v4 = b;
    LE::write_u32(&mut v4[SEGMENT_VERSION_AT], 5);
    let crc = crc32fast::hash(&v4[..SEGMENT_CRC_AT.start]);
    LE::write_u32(&mut v4[SEGMENT_CRC_AT], crc);
    assert_eq!(decode_header(&v4).unwrap_err(), HeaderError::BadVersion(5));
}

#[test]
fn segment_names_round_trip_and_others_are_ignored() {
    assert_eq!(segment_file_name(7), "log-0000000007");
    assert_eq!(parse_segment_file_name("log-0000000007"), Some(7));
    assert_eq!(parse_segment_file_name("log-7.meta"), None);
    assert_eq!(parse_segment_file_name("in_use.lock"), None);
    assert_eq!(spare_file_name(7), "spare-0000000007");
    assert!(is_spare_file_name("spare-0000000007"));
    assert_eq!(parse_segment_file_name("spare-0000000007"), None);
    assert!(!is_spare_file_name("spare-"));
    assert!(!is_spare_file_name("log-0000000007"));
}

#[test]
fn a_version_4_header_names_its_channel_where_older_ones_kept_the_creation_time() {
    let tag = *b"chan-tag";
    let h = SegmentHeader::named(7, 5, tag);
    let b = encode_header(&h);
    assert_eq!(b[8..12], [4, 0, 0, 0]);
    assert_eq!(&b[16..24], b"chan-tag");
    assert_eq!(b[24..28], [5, 0, 0, 0]);
    assert_eq!(LE::read_u32(&b[28..32]), crc32fast::hash(&b[0..28]));
    let back = decode_header(&b).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.channel_tag, Some(tag));
    assert_eq!(back.created_ms, 0);
    assert!(back.names_channel() && !back.is_sealed());
    assert_eq!(back.record_salt(), 7, "salted as version 2");
    assert_eq!(back.records_start(), 32, "records where version 2 has them");
    let v2 = decode_header(&encode_header(&SegmentHeader::new(7, 9, 5))).unwrap();
    assert_eq!((v2.channel_tag, v2.created_ms), (None, 9));
    assert!(!v2.names_channel());
    let sealed = decode_header(&encode_header(&SegmentHeader::sealed(7, 9, 5))).unwrap();
    assert!(sealed.names_channel() && sealed.channel_tag.is_none());
    let id: [u8; 16] = *b"0123456789abcdef";
    assert_eq!(&channel_tag(&id), b"01234567");
}
