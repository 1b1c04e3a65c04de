//! Secret keys from Java keystores, read natively (no JVM): JCEKS stores made by
//! `keytool -genseckey -storetype jceks` (Flume's `encryption.keyProvider = JCEFILE`) and
//! PKCS#12 stores holding secret keys (keytool's default type). JKS stores cannot hold secret
//! keys and are refused with a hint.
//!
//! [`sniff`] tells a store file's format from its first bytes, for this module and for the
//! agent's TLS keystores (one sniffer). [`Keystore::parse`] is pure on bytes and checks structure only; [`Keystore::secret_key`]
//! checks the store's integrity with the store password, then decrypts one key with its key
//! password. [`load_key_files`] loads Flume's key configuration through the core's
//! [`sluice_core::io::Fs`] seam, and [`JavaKeystores`] is the core's key provider doing it
//! (the core seals with keys; it parses no keystore).
//! [`tls::read_pkcs12`] reads a PKCS#12 store's private keys and certificates for the agent's
//! TLS keystores and truststores, with the same PFX parse, MAC check and decryption: one
//! PKCS#12 reader for the channel's keys and the RPC layer, whose one load runs at most
//! [`tls::KDF_ITERATIONS_BUDGET`] key-derivation iterations in all.
//! Formats, algorithms and errors: docs/keystores.md.

mod error;
mod invariant;
mod java_ser;
mod java_value;
mod jceks;
mod kdf_budget;
mod key_files;
mod key_protector;
mod pbe;
mod pkcs12;
mod pkcs12_crypto;
mod reader;
mod sniff;
mod store;
pub mod tls;
mod tls_bags;
mod tls_store;
mod unsealed;

pub use error::{config_name, EntryKind, KeystoreError, NameSetting};
pub use key_files::{
    key_source, load_key_files, JavaKeystores, KEYSTORE_BYTES_MAX, PASSWORD_FILE_BYTES_MAX,
};
pub use sluice_core::keys::{KeyFiles, KeyWarning, LoadedKeys, SecretKey, AES_KEY_BYTES};
pub use sniff::{sniff, StoreMagic};
pub use store::{Keystore, KeystoreFormat, MEMORY_STORE_NAME};
