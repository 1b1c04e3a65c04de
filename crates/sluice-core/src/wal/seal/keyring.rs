//! [`Keyring`]: the user's keys by alias (Flume's `encryption.keyProvider.keys`), the active
//! one (`encryption.activeKey`) wrapping the data key of every new segment, any listed one
//! unwrapping the segments it sealed. A data key is 32 random bytes from the system's source,
//! used for one segment only; the wrap is AES-GCM under the user key (128 or 256 bits) with a
//! random nonce, bound to the segment's header and the block's alias and prefix.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::block::{SealBlock, ALIAS_BYTES_MAX, BOUND_AT, CHANNEL_AT};
use super::error::SealError;
use super::frame::{SegmentKey, DATA_KEY_BYTES, PREFIX_BYTES};
use crate::keys::SecretKey;
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

    /// A fresh data key wrapped with the active key; `aad_of(alias, wrap cipher)` gives the
    /// associated data the wrap binds. Returns the wrap and the data key.
    pub(crate) fn wrap_new(
        &self,
        aad_of: impl FnOnce(&str, u8) -> Vec<u8>,
    ) -> Result<(Wrap, Zeroizing<[u8; DATA_KEY_BYTES]>), SealError> {
        let user = &self.keys[self.active];
        let Some((wrap, wrap_cipher)) = Self::wrapping_key(user) else {
            return Err(SealError::KeySize {
                alias: user.alias().to_owned(),
                bits: user.len_bits(),
            });
        };
        let mut data_key = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        let mut nonce = [0u8; 12];
        for b in [&mut data_key[..], &mut nonce[..]] {
            self.fill(b)?;
        }
        let aad = aad_of(user.alias(), wrap_cipher);
        let mut sealed = Zeroizing::new(data_key.to_vec());
        let tag = wrap
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut sealed[..],
            )
            .map_err(|_| SealError::Random)?;
        let mut wrapped = [0u8; 48];
        wrapped[..DATA_KEY_BYTES].copy_from_slice(&sealed);
        wrapped[DATA_KEY_BYTES..].copy_from_slice(tag.as_ref());
        let w = Wrap {
            alias: user.alias().to_owned(),
            wrap_cipher,
            nonce,
            wrapped,
        };
        Ok((w, data_key))
    }

    /// The data key of wrap `w`, its associated data `aad`.
    pub(crate) fn unwrap(&self, w: &Wrap, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, Unwrapped> {
        let found = self
            .keys
            .iter()
            .find(|k| k.alias().eq_ignore_ascii_case(&w.alias));
        let Some(user) = found else {
            return Err(Unwrapped::Missing);
        };
        let Some((key, wrap_cipher)) = Self::wrapping_key(user) else {
            return Err(Unwrapped::Failed);
        };
        if wrap_cipher != w.wrap_cipher {
            return Err(Unwrapped::Failed);
        }
        let mut wrapped = Zeroizing::new(w.wrapped.to_vec());
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(w.nonce),
                Aad::from(aad),
                &mut wrapped[..],
            )
            .map_err(|_| Unwrapped::Failed)?
            .len();
        wrapped.truncate(len);
        Ok(wrapped)
    }

    /// Fills `b` from the system's random source.
    pub(crate) fn fill(&self, b: &mut [u8]) -> Result<(), SealError> {
        self.rng.fill(b).map_err(|_| SealError::Random)
    }

    /// A new data key for the segment whose header is `header` (its first 28 bytes are bound
    /// in) of channel `channel`, wrapped with the active key: the seal block to write after the
    /// header, and the key.
    pub fn seal_segment(
        &self,
        header: &[u8],
        channel: [u8; 16],
    ) -> Result<(SealBlock, SegmentKey), SealError> {
        let segment = segment_of(header);
        let mut prefix = [0u8; PREFIX_BYTES];
        self.fill(&mut prefix)?;
        let mut block = SealBlock {
            alias: String::new(),
            wrap_cipher: 0,
            prefix,
            wrap_nonce: [0; 12],
            wrapped: [0; 48],
            channel,
        };
        let (w, data_key) = self.wrap_new(|alias, cipher| {
            block.alias = alias.to_owned();
            block.wrap_cipher = cipher;
            bound(header, &block)
        })?;
        block.wrap_nonce = w.nonce;
        block.wrapped = w.wrapped;
        let key = SegmentKey::new(&data_key[..], segment, prefix, &w.alias)?;
        Ok((block, key))
    }

    /// The data key of the segment whose header is `header` and seal block `block`.
    pub fn open_segment(&self, header: &[u8], block: &SealBlock) -> Result<SegmentKey, SealError> {
        let segment = segment_of(header);
        let w = Wrap {
            alias: block.alias.clone(),
            wrap_cipher: block.wrap_cipher,
            nonce: block.wrap_nonce,
            wrapped: block.wrapped,
        };
        let data_key = self.unwrap(&w, &bound(header, block)).map_err(|e| {
            let alias = block.alias.clone();
            match e {
                Unwrapped::Missing => SealError::MissingKey { alias, segment },
                Unwrapped::Failed => SealError::Unwrap { alias, segment },
            }
        })?;
        SegmentKey::new(&data_key, segment, block.prefix, &block.alias)
    }
}

/// A data key wrapped by a user key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wrap {
    /// The user key's alias.
    pub alias: String,
    /// 1: AES-128-GCM, 2: AES-256-GCM.
    pub wrap_cipher: u8,
    /// The wrap's nonce.
    pub nonce: [u8; 12],
    /// The wrapped key and its tag.
    pub wrapped: [u8; 48],
}

/// Why a wrap did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unwrapped {
    /// No key of its alias.
    Missing,
    /// Another key under the alias, or altered bytes.
    Failed,
}

/// The segment id in a header's bytes.
fn segment_of(header: &[u8]) -> u32 {
    let mut id = [0u8; 4];
    id.copy_from_slice(&header[SEGMENT_ID_AT]);
    u32::from_le_bytes(id)
}

/// The associated data of a wrap: the header before its CRC, the block's bound bytes and its
/// channel id.
fn bound(header: &[u8], block: &SealBlock) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_BOUND + BOUND_AT.end + CHANNEL_AT.len());
    aad.extend_from_slice(&header[..HEADER_BOUND]);
    aad.extend_from_slice(&block.encode()[BOUND_AT]);
    aad.extend_from_slice(&block.encode()[CHANNEL_AT]);
    aad
}

#[cfg(test)]
mod tests;
