//! [`SecretKey`]: a key read from a keystore. Its bytes live in a zeroizing buffer, wiped when
//! the key is dropped, and its `Debug` shows the alias, algorithm and length only.

use std::fmt;

use zeroize::Zeroizing;

/// AES key lengths in bytes (AES-128, AES-192, AES-256).
pub const AES_KEY_BYTES: [usize; 3] = [16, 24, 32];

/// A secret key from a keystore.
pub struct SecretKey {
    alias: String,
    algorithm: String,
    bytes: Zeroizing<Vec<u8>>,
}

impl SecretKey {
    /// A key from its alias, algorithm and bytes (a key provider's, as it read them).
    pub fn new(alias: String, algorithm: String, bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretKey {
            alias,
            algorithm,
            bytes,
        }
    }

    /// A key from its bytes (copied into a zeroizing buffer): a key held elsewhere than in a
    /// keystore file, or a test's.
    pub fn from_bytes(alias: &str, algorithm: &str, bytes: &[u8]) -> Self {
        SecretKey::new(
            alias.into(),
            algorithm.into(),
            Zeroizing::new(bytes.to_vec()),
        )
    }

    /// The entry's alias, as the store spells it.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The key's algorithm as Java names it (`AES`).
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The key's bytes. Copy them only into buffers that are zeroized too.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key's length in bits.
    pub fn len_bits(&self) -> usize {
        self.bytes.len() * 8
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("alias", &self.alias)
            .field("algorithm", &self.algorithm)
            .field("len_bits", &self.len_bits())
            .finish_non_exhaustive()
    }
}
