//! Fuzz body: checkpoint decoding. A decoded image must re-encode to bytes that decode to the
//! same image. When the first byte is odd, the trailing CRC is fixed up first so the body
//! parser is reached.

use sluice_core::internals::checkpoint::format::{decode, encode};

/// Rewrites the trailing CRC of a checkpoint image to match its bytes.
pub fn fix_checkpoint_crc(b: &mut [u8]) {
    if b.len() < 4 {
        return;
    }
    let n = b.len() - 4;
    let crc = crc32fast::hash(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 {
        fix_checkpoint_crc(&mut bytes);
    }
    if let Ok(img) = decode(&bytes) {
        let again = encode(&img);
        assert_eq!(
            decode(&again).as_ref(),
            Ok(&img),
            "re-encoding changed the image"
        );
    }
}
