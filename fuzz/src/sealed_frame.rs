//! Fuzz body: sealed segments (`wal/seal/`). Opening arbitrary bytes as a sealed frame, at an
//! arbitrary offset, and decoding what opens, must not panic; a seal block decodes or is
//! refused; and a record sealed from the input opens back to the same bytes at its own place
//! only (another offset fails its tag).

use sluice_core::internals::wal::record::{decode, encode_commit, encode_put};
use sluice_core::internals::wal::seal::{FrameCodec, SealBlock};
use sluice_core::internals::wal::segment::{encode_header, SegmentHeader};
use sluice_core::keys::SecretKey;
use sluice_core::{Event, Keyring};

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let _ = SealBlock::decode(rest, 7);
    let Ok(ring) = Keyring::new(vec![SecretKey::from_bytes("k", "AES", &[9u8; 32])], "k") else {
        panic!("a 256-bit key is refused");
    };
    let header = encode_header(&SegmentHeader::sealed(7, 1, 0));
    let Ok((block, key)) = ring.seal_segment(&header, [1; 16]) else {
        return;
    };
    assert!(ring.open_segment(&header, &block).is_ok());
    let key = std::sync::Arc::new(key);
    let codec = FrameCodec::sealed(key.clone());
    let offset = 192 + u64::from(mode) * 8;
    if let Ok((_, len)) = codec.decode_meta(rest, offset) {
        assert!(len <= rest.len());
    }
    let _ = codec.decode(rest, offset);
    // Seal a put of the input (and a commit) and open them back.
    let mut plain = Vec::new();
    encode_put(&mut plain, 7, 1, 2, &Event::new(rest.to_vec()));
    encode_commit(&mut plain, 7, 1, 3, 1, 0);
    let mut sealed = Vec::new();
    let n = key.seal_frames(&plain, &mut sealed, offset);
    assert_eq!(n, sealed.len());
    let Ok((rec, len)) = codec.decode(&sealed, offset) else {
        panic!("a sealed put does not open at its place");
    };
    let Ok((want, _)) = decode(&plain, 7) else {
        panic!("the plain put does not decode");
    };
    assert_eq!(rec, want);
    assert!(
        codec.decode(&sealed, offset + 1).is_err(),
        "opened at another offset"
    );
    // Any byte of the sealed put changed: refused (CRC or tag), never opened altered.
    let mut bad = sealed.clone();
    let at = (usize::from(mode) * 7_919 + rest.len()) % len;
    bad[at] ^= (mode >> 1) | 1;
    assert!(
        codec.decode(&bad, offset).is_err(),
        "a changed byte at {at} opened"
    );
    assert!(codec.decode(&sealed[len..], offset + len as u64).is_ok());
}
