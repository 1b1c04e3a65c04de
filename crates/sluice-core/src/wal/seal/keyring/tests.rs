use super::*;
use crate::wal::segment::{encode_header, SegmentHeader};

fn user(alias: &str, len: usize, fill: u8) -> SecretKey {
    SecretKey::new(alias.into(), "AES".into(), Zeroizing::new(vec![fill; len]))
}

fn header(id: u32) -> [u8; 32] {
    encode_header(&SegmentHeader::sealed(id, 1_700_000_000_000, 0))
}

#[test]
fn a_data_key_wrapped_by_the_active_key_unwraps_with_any_ring_that_lists_it() {
    let ring = Keyring::new(vec![user("key-0", 16, 1), user("key-1", 32, 2)], "key-1").unwrap();
    let h = header(5);
    let (block, key) = ring.seal_segment(&h, [3; 16]).unwrap();
    assert_eq!(block.alias, "key-1");
    assert_eq!(block.wrap_cipher, 2);
    let mut sealed = Vec::new();
    key.seal_frames(&probe(), &mut sealed, 192);
    // A later ring, key-0 retired and key-2 active, still opens key-1's segments.
    let later = Keyring::new(vec![user("key-1", 32, 2), user("key-2", 32, 3)], "key-2").unwrap();
    let back = later.open_segment(&h, &block).unwrap();
    assert!(back.open_frame(&sealed, 192).is_ok());
    // A ring without key-1 names it and the segment.
    let without = Keyring::new(vec![user("key-2", 32, 3)], "key-2").unwrap();
    let e = without.open_segment(&h, &block).unwrap_err().to_string();
    assert!(e.contains("\"key-1\"") && e.contains("segment 5"), "{e}");
    // Another key under the alias, another segment's header, an altered block: refused.
    let imposter = Keyring::new(vec![user("key-1", 32, 9)], "key-1").unwrap();
    assert!(matches!(
        imposter.open_segment(&h, &block),
        Err(SealError::Unwrap { .. })
    ));
    assert!(ring.open_segment(&header(6), &block).is_err());
    let mut moved = block.clone();
    moved.prefix[0] ^= 1;
    assert!(matches!(
        ring.open_segment(&h, &moved),
        Err(SealError::Unwrap { .. })
    ));
}

#[test]
fn every_segment_gets_its_own_data_key_and_prefix() {
    let ring = Keyring::new(vec![user("k", 16, 1)], "k").unwrap();
    let (a, _) = ring.seal_segment(&header(1), [3; 16]).unwrap();
    let (b, _) = ring.seal_segment(&header(1), [3; 16]).unwrap();
    assert_ne!(a.wrapped, b.wrapped);
    assert_ne!(a.wrap_nonce, b.wrap_nonce);
}

#[test]
fn keys_the_seal_cannot_use_are_refused_by_alias() {
    let e = Keyring::new(vec![user("k", 24, 1)], "k")
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"k\"") && e.contains("192 bits"), "{e}");
    let e = Keyring::new(vec![user("k", 16, 1)], "other").unwrap_err();
    assert!(matches!(e, SealError::ActiveNotListed { .. }));
    let long = "a".repeat(65);
    assert!(Keyring::new(vec![user(&long, 16, 1)], &long).is_err());
}

fn probe() -> Vec<u8> {
    let mut b = Vec::new();
    crate::wal::record::encode_commit(&mut b, 5, 1, 2, 0, 0);
    b
}
