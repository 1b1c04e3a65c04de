//! [`Keyring`]: the user's keys by alias (Flume's `encryption.keyProvider.keys`), the active
//! one (`encryption.activeKey`) wrapping the data key of every new segment, any listed one
//! unwrapping the segments it sealed. A data key is 32 random bytes from the system's source,
//! used for one segment only; the wrap is AES-GCM under the user key (128 or 256 bits) with a
//! random nonce, bound to the segment's header and the block's alias and prefix.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::block::{SealBlock, ALIAS_BYTES_MAX, BOUND_AT};
use super::error::SealError;
use super::frame::{SegmentKey, DATA_KEY_BYTES, PREFIX_BYTES};
use crate::keystore::SecretKey;
use crate::wal::segment::{SEGMENT_CRC_AT, SEGMENT_ID_AT};

/// The header bytes a wrap binds: everything before the header's CRC.
const HEADER_BOUND: usize = SEGMENT_CRC_AT.start;

/// The user's keys and the active one.
pub struct Keyring {
    keys: Vec<SecretKey>,
    active: usize,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active_alias())
            .field("aliases", &self.aliases().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// The keyring of `keys`, sealing new segments with `active`. Every key must be an AES key
    /// of 128 or 256 bits with an alias of at most 64 bytes, and `active` one of them.
    pub fn new(keys: Vec<SecretKey>, active: &str) -> Result<Self, SealError> {
        for k in &keys {
            if !matches!(k.bytes().len(), 16 | 32) {
                return Err(SealError::KeySize {
                    alias: k.alias().to_owned(),
                    bits: k.len_bits(),
                });
            }
            if k.alias().is_empty() || k.alias().len() > ALIAS_BYTES_MAX {
                return Err(SealError::AliasTooLong {
                    alias: k.alias().to_owned(),
                    max: ALIAS_BYTES_MAX,
                });
            }
        }
        // Aliases match ignoring ASCII case, as Java keystores match them.
        let Some(active) = keys
            .iter()
            .position(|k| k.alias().eq_ignore_ascii_case(active))
        else {
            return Err(SealError::ActiveNotListed {
                alias: active.to_owned(),
            });
        };
        Ok(Keyring {
            keys,
            active,
            rng: SystemRandom::new(),
        })
    }

    /// The alias new segments are sealed with.
    pub fn active_alias(&self) -> &str {
        self.keys[self.active].alias()
    }

    /// Every alias, in configuration order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(SecretKey::alias)
    }

    fn wrapping_key(key: &SecretKey) -> Option<(LessSafeKey, u8)> {
        let (alg, byte) = match key.bytes().len() {
            16 => (&AES_128_GCM, 1),
            32 => (&AES_256_GCM, 2),
            _ => return None,
        };
        let unbound = UnboundKey::new(alg, key.bytes()).ok()?;
        Some((LessSafeKey::new(unbound), byte))
    }

    /// A new data key for the segment whose header is `header` (its first 28 bytes are bound
    /// in), wrapped with the active key: the seal block to write after the header, and the key.
    pub fn seal_segment(&self, header: &[u8]) -> Result<(SealBlock, SegmentKey), SealError> {
        let segment = segment_of(header);
        let user = &self.keys[self.active];
        let Some((wrap, wrap_cipher)) = Self::wrapping_key(user) else {
            return Err(SealError::KeySize {
                alias: user.alias().to_owned(),
                bits: user.len_bits(),
            });
        };
        let mut data_key = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        let mut prefix = [0u8; PREFIX_BYTES];
        let mut wrap_nonce = [0u8; 12];
        for b in [&mut data_key[..], &mut prefix[..], &mut wrap_nonce[..]] {
            self.rng.fill(b).map_err(|_| SealError::Random)?;
        }
        let mut block = SealBlock {
            alias: user.alias().to_owned(),
            wrap_cipher,
            prefix,
            wrap_nonce,
            wrapped: [0; 48],
        };
        let aad = bound(header, &block);
        let mut wrapped = Zeroizing::new(data_key.to_vec());
        let tag = wrap
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(wrap_nonce),
                Aad::from(&aad[..]),
                &mut wrapped[..],
            )
            .map_err(|_| SealError::Random)?;
        block.wrapped[..DATA_KEY_BYTES].copy_from_slice(&wrapped);
        block.wrapped[DATA_KEY_BYTES..].copy_from_slice(tag.as_ref());
        let key = SegmentKey::new(&data_key[..], segment, prefix, user.alias())?;
        Ok((block, key))
    }

    /// The data key of the segment whose header is `header` and seal block `block`.
    pub fn open_segment(&self, header: &[u8], block: &SealBlock) -> Result<SegmentKey, SealError> {
        let segment = segment_of(header);
        let found = self
            .keys
            .iter()
            .find(|k| k.alias().eq_ignore_ascii_case(&block.alias));
        let Some(user) = found else {
            return Err(SealError::MissingKey {
                alias: block.alias.clone(),
                segment,
            });
        };
        let unwrap_err = || SealError::Unwrap {
            alias: block.alias.clone(),
            segment,
        };
        let Some((wrap, wrap_cipher)) = Self::wrapping_key(user) else {
            return Err(unwrap_err());
        };
        if wrap_cipher != block.wrap_cipher {
            return Err(unwrap_err());
        }
        let aad = bound(header, block);
        let mut wrapped = Zeroizing::new(block.wrapped.to_vec());
        let data_key = wrap
            .open_in_place(
                Nonce::assume_unique_for_key(block.wrap_nonce),
                Aad::from(&aad[..]),
                &mut wrapped[..],
            )
            .map_err(|_| unwrap_err())?;
        SegmentKey::new(data_key, segment, block.prefix, &block.alias)
    }
}

/// The segment id in a header's bytes.
fn segment_of(header: &[u8]) -> u32 {
    let mut id = [0u8; 4];
    id.copy_from_slice(&header[SEGMENT_ID_AT]);
    u32::from_le_bytes(id)
}

/// The associated data of a wrap: the header before its CRC, and the block's bound bytes.
fn bound(header: &[u8], block: &SealBlock) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_BOUND + BOUND_AT.end);
    aad.extend_from_slice(&header[..HEADER_BOUND]);
    aad.extend_from_slice(&block.encode()[BOUND_AT]);
    aad
}

#[cfg(test)]
mod tests;
