//! [`SealError`]: why a sealed segment cannot be started or read, naming the key alias and
//! the segment.

/// Why a segment cannot be sealed or unsealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The segment was sealed with a key the configuration does not list.
    #[error(
        "segment {segment} is sealed with key {alias:?}, which encryption.keyProvider.keys does not list; add it back (its segments are still in use)"
    )]
    MissingKey {
        /// The alias in the segment's seal block.
        alias: String,
        /// The segment.
        segment: u32,
    },
    /// The segment is sealed and no encryption is configured.
    #[error(
        "segment {segment} is sealed with key {alias:?} but the channel has no encryption.* keys; configure encryption.activeKey, encryption.keyProvider and the keystore that holds {alias:?}"
    )]
    NotConfigured {
        /// The alias in the segment's seal block.
        alias: String,
        /// The segment.
        segment: u32,
    },
    /// The data key does not unwrap: another key under the same alias, or an altered block.
    #[error(
        "segment {segment}'s data key does not unwrap with key {alias:?} (a different key under that alias, or the segment's header was altered)"
    )]
    Unwrap {
        /// The alias in the segment's seal block.
        alias: String,
        /// The segment.
        segment: u32,
    },
    /// The seal block is not one this code wrote.
    #[error("segment {segment}'s seal block is damaged: {what}")]
    BadBlock {
        /// The segment.
        segment: u32,
        /// What is wrong.
        what: String,
    },
    /// A user key of a size AES-GCM does not take.
    #[error(
        "key {alias:?} is {bits} bits; encryption keys are AES keys of 128 or 256 bits (keytool -genseckey -keyalg AES -keysize 256)"
    )]
    KeySize {
        /// The key's alias.
        alias: String,
        /// Its length in bits.
        bits: usize,
    },
    /// `encryption.activeKey` is not among the configured keys.
    #[error("encryption.activeKey {alias:?} is not listed in encryption.keyProvider.keys")]
    ActiveNotListed {
        /// The active alias.
        alias: String,
    },
    /// An alias longer than a seal block holds.
    #[error("key alias {alias:?} is longer than {max} bytes")]
    AliasTooLong {
        /// The alias.
        alias: String,
        /// The longest alias a seal block holds.
        max: usize,
    },
    /// The system's random source failed.
    #[error("the system random source failed")]
    Random,
}
