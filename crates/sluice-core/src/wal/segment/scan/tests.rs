//! The scanner's ends: zeros, torn frames, a recycled file's earlier use, damage.

use super::*;
use crate::wal::seal::FrameCodec;

fn scan_of(bytes: &[u8], resync: bool) -> ScanOutcome {
    scan_salted(bytes, 0, resync)
}

fn scan_salted(bytes: &[u8], salt: u32, resync: bool) -> ScanOutcome {
    use crate::io::{Fs, OpenMode, SimFs};
    let fs = SimFs::new(1);
    fs.create_dir_all(std::path::Path::new("/d")).unwrap();
    let path = std::path::Path::new("/d/seg");
    let f = fs.open(path, OpenMode::CreateNew).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    scan_records(f.as_ref(), 0, &FrameCodec::plain(salt), resync, |_, _| {}).unwrap()
}

fn two_records_around(gap: &[u8]) -> (Vec<u8>, u64) {
    let mut b = Vec::new();
    crate::wal::record::encode_commit(&mut b, 0, 1, 1, 0, 0);
    let gap_at = b.len() as u64;
    b.extend_from_slice(gap);
    crate::wal::record::encode_commit(&mut b, 0, 2, 2, 0, 0);
    (b, gap_at)
}

#[test]
fn zeroes_to_the_end_of_the_file_are_a_clean_end() {
    let (mut b, _) = two_records_around(&[]);
    let end = b.len() as u64;
    b.extend_from_slice(&[0u8; 300]);
    for resync in [false, true] {
        let out = scan_of(&b, resync);
        assert_eq!(out.records, 2);
        assert_eq!(out.valid_end, end);
        assert!(out.problem.is_none(), "{:?}", out.problem);
        assert!(out.skipped.is_empty());
    }
}

#[test]
fn fewer_zero_bytes_than_a_frame_header_at_the_end_are_a_clean_end_and_other_bytes_torn() {
    // A crash test once found a direct segment, allocated to exactly its size limit, whose
    // last record ended 5 bytes before the end: replay refused it as a truncated record.
    for n in 1..8 {
        let (mut b, _) = two_records_around(&[]);
        let end = b.len() as u64;
        b.extend_from_slice(&vec![0u8; n]);
        for resync in [false, true] {
            let out = scan_of(&b, resync);
            assert_eq!((out.records, out.valid_end), (2, end), "{n} zeros");
            assert!(out.problem.is_none(), "{n} zeros: {:?}", out.problem);
        }
        *b.last_mut().unwrap() = 1;
        let out = scan_of(&b, false);
        assert_eq!(out.records, 2);
        let problem = out.problem.expect("a torn frame header");
        assert_eq!(problem.offset, end);
    }
}

#[test]
fn zeroes_followed_by_records_are_damage_not_the_end() {
    let (b, gap_at) = two_records_around(&[0u8; 100]);
    let out = scan_of(&b, false);
    assert_eq!(out.records, 1);
    assert_eq!(out.readable_after, Some(gap_at + 100));
    let problem = out.problem.expect("the zero range must be reported");
    assert_eq!(problem.offset, gap_at);
    assert_eq!(problem.error, DecodeError::Zeroed);
    let out = scan_of(&b, true);
    assert_eq!(out.records, 2, "salvage finds the record after the zeroes");
    assert_eq!(out.skipped, vec![(gap_at, 100)]);
}

/// A recycled file: this use's records (salt 9), zero padding to the block's end, then a
/// previous use's records (salt 4), at the same offsets and more of them.
fn recycled(new_records: u64, old_records: u64) -> (Vec<u8>, u64) {
    use crate::wal::record::encode_commit;
    let mut old = Vec::new();
    for i in 0..old_records {
        encode_commit(&mut old, 4, i, i, 0, 0);
    }
    let mut b = Vec::new();
    for i in 0..new_records {
        encode_commit(&mut b, 9, i, i, 0, 0);
    }
    let end = b.len() as u64;
    b.resize(end.next_multiple_of(4096) as usize, 0);
    if old.len() > b.len() {
        b.extend_from_slice(&old[b.len()..]);
    }
    (b, end)
}

#[test]
fn a_previous_uses_records_after_the_zero_padding_end_a_salted_scan_cleanly() {
    let (b, end) = recycled(10, 1000);
    for resync in [false, true] {
        let out = scan_salted(&b, 9, resync);
        assert_eq!(out.records, 10);
        assert_eq!(out.valid_end, end);
        assert!(out.problem.is_none(), "{:?}", out.problem);
        assert!(out.skipped.is_empty());
        assert_eq!(out.stale_bytes, b.len() as u64 - end);
    }
    // Zeroes followed by records that do check out with the scan's salt stay damage: the
    // salt is what tells a previous use's records from this one's.
    let (mut v1, _) = recycled(0, 1000);
    v1[..4096].fill(0);
    let out = scan_salted(&v1, 4, false);
    assert!(out.problem.is_some() && out.readable_after.is_some());
}

#[test]
fn a_previous_uses_record_right_after_this_uses_last_one_is_a_torn_tail_not_inside_damage() {
    // No zero padding (as when a lost rewrite leaves old bytes at a block boundary): the
    // stale frame fails the salted checksum, and no record of this salt follows.
    let (mut b, end) = recycled(10, 1000);
    let end = end as usize;
    let mut old = Vec::new();
    for i in 0..1000u64 {
        crate::wal::record::encode_commit(&mut old, 4, i, i, 0, 0);
    }
    let len = b.len();
    b[end..].copy_from_slice(&old[end..len]);
    let out = scan_salted(&b, 9, false);
    assert_eq!(out.records, 10);
    assert_eq!(out.valid_end, end as u64);
    assert!(out.problem.is_some());
    assert_eq!(
        out.readable_after, None,
        "no stale record reads as this segment's"
    );
    assert_eq!(out.stale_bytes, 0);
}

#[test]
fn zeroes_followed_by_a_record_of_this_segment_stay_damage_in_a_salted_segment() {
    use crate::wal::record::encode_commit;
    let mut b = Vec::new();
    encode_commit(&mut b, 9, 1, 1, 0, 0);
    let gap_at = b.len() as u64;
    b.resize(1 << 20, 0);
    encode_commit(&mut b, 9, 2, 2, 0, 0);
    let out = scan_salted(&b, 9, false);
    assert_eq!(out.stale_bytes, 0);
    assert_eq!(out.problem.map(|p| p.offset), Some(gap_at));
    assert_eq!(out.readable_after, Some(1 << 20));
}

#[test]
fn the_search_after_damage_finds_a_record_across_chunk_boundaries_and_not_a_near_miss() {
    // Non-zero filler that is never a plausible frame (its reserved bytes are never zero).
    let filler = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 251) as u8 | 1).collect() };
    // The record after the damage starts 11 bytes before a chunk's end (its 12-byte test
    // straddles two windows), and well past the first chunk.
    for gap in [
        SCAN_CHUNK_BYTES - 11 - 40,
        SCAN_CHUNK_BYTES + 5,
        2 * SCAN_CHUNK_BYTES - 3,
    ] {
        let mut junk = filler(gap);
        // A near miss early in the junk: a plausible frame whose checksum fails.
        let mut fake = Vec::new();
        crate::wal::record::encode_commit(&mut fake, 0, 7, 7, 0, 0);
        fake[0] ^= 0xff;
        junk[1000..1000 + fake.len()].copy_from_slice(&fake);
        let (b, gap_at) = two_records_around(&junk);
        let out = scan_of(&b, false);
        assert_eq!(out.records, 1, "gap {gap}");
        assert_eq!(out.readable_after, Some(gap_at + gap as u64), "gap {gap}");
        let out = scan_of(&b, true);
        assert_eq!(out.records, 2, "gap {gap}");
        assert_eq!(out.skipped, vec![(gap_at, gap as u64)], "gap {gap}");
    }
}
