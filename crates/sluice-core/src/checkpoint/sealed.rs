//! Sealed checkpoints: with encryption on, the checkpoint image (the queue's pointers, the
//! deduplication table, the sink cursors) is written inside an envelope, encrypted and
//! authenticated with AES-256-GCM under a data key of its own that the active user key wraps,
//! as a sealed segment's (docs/format.md, "Sealed checkpoints"). Pure codec over a
//! [`Keyring`].
//!
//! ```text
//! offset size field
//! 0      8    magic        "SLUICESC"
//! 8      4    version      1
//! 12     1    wrap cipher  1: AES-128-GCM, 2: AES-256-GCM
//! 13     1    alias length 1..=64
//! 14     2    reserved     0
//! 16     64   alias        zero padded
//! 80     12   wrap nonce
//! 92     48   wrapped key  the 32-byte data key and its tag (associated data: bytes 0..80)
//! 140    12   nonce        of the image
//! 152    ..   image        the plain checkpoint, encrypted (associated data: bytes 0..152)
//! end-16 16   tag
//! ```

use std::ops::Range;

use byteorder::{ByteOrder, LittleEndian as LE};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use super::format::CheckpointError;
use crate::wal::seal::{Keyring, Unwrapped, Wrap};

/// First bytes of a sealed checkpoint.
pub const SEALED_CHECKPOINT_MAGIC: [u8; 8] = *b"SLUICESC";
const VERSION: u32 = 1;
const VERSION_AT: Range<usize> = 8..12;
const WRAP_CIPHER_AT: usize = 12;
const ALIAS_LEN_AT: usize = 13;
const RESERVED_AT: Range<usize> = 14..16;
const ALIAS_AT: Range<usize> = 16..80;
const WRAP_NONCE_AT: Range<usize> = 80..92;
const WRAPPED_AT: Range<usize> = 92..140;
const NONCE_AT: Range<usize> = 140..152;
const HEAD: usize = 152;
const TAG: usize = 16;

const _: () = {
    assert!(VERSION_AT.start == SEALED_CHECKPOINT_MAGIC.len());
    assert!(VERSION_AT.end == WRAP_CIPHER_AT && WRAP_CIPHER_AT + 1 == ALIAS_LEN_AT);
    assert!(ALIAS_LEN_AT + 1 == RESERVED_AT.start && RESERVED_AT.end == ALIAS_AT.start);
    assert!(ALIAS_AT.end == WRAP_NONCE_AT.start && WRAP_NONCE_AT.end == WRAPPED_AT.start);
    assert!(WRAPPED_AT.end == NONCE_AT.start && NONCE_AT.end == HEAD);
};

/// Whether `bytes` are a sealed checkpoint.
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(&SEALED_CHECKPOINT_MAGIC)
}

fn image_key(data_key: &[u8]) -> Result<LessSafeKey, CheckpointError> {
    UnboundKey::new(&AES_256_GCM, data_key)
        .map(LessSafeKey::new)
        .map_err(|_| CheckpointError::Malformed("a sealed checkpoint's data key"))
}

/// Seals the encoded checkpoint `image` with `keyring`'s active key.
pub fn seal(keyring: &Keyring, image: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    let mut out = vec![0u8; HEAD];
    out[..8].copy_from_slice(&SEALED_CHECKPOINT_MAGIC);
    LE::write_u32(&mut out[VERSION_AT], VERSION);
    let (w, data_key) = keyring
        .wrap_new(|alias, cipher| {
            out[WRAP_CIPHER_AT] = cipher;
            // The keyring holds aliases of at most 64 bytes (checked when it is made).
            out[ALIAS_LEN_AT] = alias.len() as u8;
            out[ALIAS_AT.start..ALIAS_AT.start + alias.len()].copy_from_slice(alias.as_bytes());
            out[..WRAP_NONCE_AT.start].to_vec()
        })
        .map_err(|_| CheckpointError::Malformed("the system random source failed"))?;
    out[WRAP_NONCE_AT].copy_from_slice(&w.nonce);
    out[WRAPPED_AT].copy_from_slice(&w.wrapped);
    let mut nonce = [0u8; 12];
    keyring
        .fill(&mut nonce)
        .map_err(|_| CheckpointError::Malformed("the system random source failed"))?;
    out[NONCE_AT].copy_from_slice(&nonce);
    let aad = out[..HEAD].to_vec();
    out.extend_from_slice(image);
    let key = image_key(&data_key[..])?;
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            &mut out[HEAD..],
        )
        .map_err(|_| CheckpointError::Malformed("a checkpoint too large to seal"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens a sealed checkpoint: the encoded image inside, once its key unwrapped and its tag
/// held.
pub fn open(keyring: Option<&Keyring>, bytes: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    if bytes.len() < HEAD + TAG {
        return Err(CheckpointError::Truncated(bytes.len()));
    }
    if LE::read_u32(&bytes[VERSION_AT]) != VERSION {
        return Err(CheckpointError::BadVersion(LE::read_u32(
            &bytes[VERSION_AT],
        )));
    }
    let n = usize::from(bytes[ALIAS_LEN_AT]);
    if !(1..=ALIAS_AT.len()).contains(&n) || bytes[RESERVED_AT] != [0, 0] {
        return Err(CheckpointError::Malformed("a sealed checkpoint's alias"));
    }
    let Ok(alias) = std::str::from_utf8(&bytes[ALIAS_AT.start..ALIAS_AT.start + n]) else {
        return Err(CheckpointError::Malformed("a sealed checkpoint's alias"));
    };
    let Some(keyring) = keyring else {
        return Err(CheckpointError::Sealed(format!(
            "sealed with key {alias:?} and the channel has no encryption.* keys"
        )));
    };
    let mut w = Wrap {
        alias: alias.to_owned(),
        wrap_cipher: bytes[WRAP_CIPHER_AT],
        nonce: [0; 12],
        wrapped: [0; 48],
    };
    w.nonce.copy_from_slice(&bytes[WRAP_NONCE_AT]);
    w.wrapped.copy_from_slice(&bytes[WRAPPED_AT]);
    let data_key = keyring
        .unwrap(&w, &bytes[..WRAP_NONCE_AT.start])
        .map_err(|e| {
            CheckpointError::Sealed(match e {
                Unwrapped::Missing => format!(
                    "sealed with key {alias:?}, which encryption.keyProvider.keys does not list"
                ),
                Unwrapped::Failed => format!(
                    "its data key does not unwrap with key {alias:?} (another key under that alias, or altered bytes)"
                ),
            })
        })?;
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&bytes[NONCE_AT]);
    let mut image = bytes[HEAD..].to_vec();
    let len = image_key(&data_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&bytes[..HEAD]),
            &mut image,
        )
        .map_err(|_| {
            CheckpointError::Sealed("its authentication tag fails (altered or damaged)".into())
        })?
        .len();
    image.truncate(len);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    fn ring(alias: &str, fill: u8) -> Keyring {
        Keyring::new(
            vec![SecretKey::from_bytes(alias, "AES", &[fill; 32])],
            alias,
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_checkpoint_opens_only_whole_and_with_its_key() {
        let image = b"SLUICECP the image bytes".to_vec();
        let sealed = seal(&ring("key-0", 1), &image).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(9).any(|w| w == b"the image"));
        assert_eq!(open(Some(&ring("key-0", 1)), &sealed).unwrap(), image);
        for i in 0..sealed.len() {
            let mut b = sealed.clone();
            b[i] ^= 0x10;
            assert!(open(Some(&ring("key-0", 1)), &b).is_err(), "flip at {i}");
        }
        let e = open(Some(&ring("key-1", 1)), &sealed)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"key-0\"") && e.contains("does not list"),
            "{e}"
        );
        let e = open(Some(&ring("key-0", 2)), &sealed)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not unwrap"), "{e}");
        assert!(open(None, &sealed)
            .unwrap_err()
            .to_string()
            .contains("no encryption"));
        assert!(open(Some(&ring("key-0", 1)), &sealed[..HEAD + 3]).is_err());
    }
}
