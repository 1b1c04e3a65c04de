//! The channel's encryption keys, as the core sees them: [`SecretKey`]s handed to it by a
//! [`KeyProvider`]. The core seals and opens segments with keys; it reads no keystore. The
//! configuration names the files of Flume's `JCEKSFILE` key provider ([`KeyFiles`]: pure
//! paths, parsed by `EncryptionConfig`), and the embedding program says which provider reads
//! them ([`KeySource`]): the agent and the CLI hand in `sluice-keystore`'s, which reads JCEKS
//! and PKCS#12 stores natively (docs/keystores.md).

mod files;
mod secret;

pub use files::{KeyFiles, KeyProvider, KeySource, KeyWarning, LoadedKeys, ProviderError};
pub use secret::{SecretKey, AES_KEY_BYTES};
