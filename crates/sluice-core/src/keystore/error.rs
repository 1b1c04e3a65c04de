//! [`KeystoreError`]: every way reading a keystore or its key configuration can fail, each
//! naming the store (its path, or `<memory>`), the alias or the configuration key at fault.
//! No message ever contains a password or key material.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The kind of a keystore entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A secret (symmetric) key: the only kind Sluice reads.
    SecretKey,
    /// A private key with its certificate chain.
    PrivateKey,
    /// A trusted certificate.
    TrustedCert,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::SecretKey => "secret key",
            EntryKind::PrivateKey => "private key",
            EntryKind::TrustedCert => "trusted certificate",
        })
    }
}

/// Why a keystore, one of its keys or a file of the key configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// A file of the key configuration could not be read.
    #[error("cannot read {path} (encryption.keyProvider.{config_key}): {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The configuration key that names it (`keyStoreFile`, `keyStorePasswordFile`,
        /// `keys.<alias>.passwordFile`).
        config_key: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file of the key configuration is a directory or another non-regular file.
    #[error("{path} (encryption.keyProvider.{config_key}) is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// The configuration key that names it.
        config_key: String,
    },
    /// A password file is not UTF-8 text (Java reads it as UTF-8 characters).
    #[error("password file {path} (encryption.keyProvider.{config_key}) is not UTF-8 text")]
    PasswordNotText {
        /// The password file.
        path: PathBuf,
        /// The configuration key that names it.
        config_key: String,
    },
    /// The store's integrity check failed.
    #[error(
        "keystore {store}: wrong store password, or the file is damaged (its integrity check failed)"
    )]
    StorePassword {
        /// The store.
        store: String,
    },
    /// The key could not be decrypted with the key password given.
    #[error("keystore {store}: wrong password for key {alias:?}")]
    KeyPassword {
        /// The store.
        store: String,
        /// The key's alias.
        alias: String,
    },
    /// No entry has this alias.
    #[error("keystore {store} has no entry {alias:?}; it holds {}", list(present))]
    NoSuchAlias {
        /// The store.
        store: String,
        /// The alias asked for.
        alias: String,
        /// The aliases the store holds.
        present: Vec<String>,
    },
    /// The entry is a private key or a certificate.
    #[error("keystore {store}: entry {alias:?} is a {kind}, not a secret key")]
    NotASecretKey {
        /// The store.
        store: String,
        /// The entry's alias.
        alias: String,
        /// What it is.
        kind: EntryKind,
    },
    /// An AES key whose length is not 16, 24 or 32 bytes.
    #[error(
        "keystore {store}: key {alias:?} is a {algorithm} key of {len_bytes} bytes; AES keys are 16, 24 or 32 bytes"
    )]
    KeySize {
        /// The store.
        store: String,
        /// The key's alias.
        alias: String,
        /// The key's algorithm.
        algorithm: String,
        /// Its length in bytes.
        len_bytes: usize,
    },
    /// A JKS keystore, which cannot hold secret keys.
    #[error(
        "keystore {store}: JKS keystores cannot hold secret keys; make a JCEKS or PKCS12 one with keytool -genseckey"
    )]
    Jks {
        /// The store.
        store: String,
    },
    /// A format, algorithm or parameter Sluice does not read.
    #[error("keystore {store}: unsupported {what}")]
    Unsupported {
        /// The store.
        store: String,
        /// What is unsupported, named.
        what: String,
    },
    /// The store's bytes do not follow its format.
    #[error("keystore {store}: corrupt or truncated at byte {offset}: {reason}")]
    Corrupt {
        /// The store.
        store: String,
        /// Offset in the store (or in the decrypted entry, for a sealed key's contents).
        offset: u64,
        /// What was wrong.
        reason: String,
    },
}

fn list(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "no entries".to_owned()
    } else {
        aliases.join(", ")
    }
}
