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
#[non_exhaustive]
pub enum KeystoreError {
    /// A file of the key configuration could not be read.
    #[error("{}", self.message_with(config_name))]
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
    #[error("{}", self.message_with(config_name))]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// The configuration key that names it.
        config_key: String,
    },
    /// A password file is not UTF-8 text (Java reads it as UTF-8 characters).
    #[error("{}", self.message_with(config_name))]
    PasswordNotText {
        /// The password file.
        path: PathBuf,
        /// The configuration key that names it.
        config_key: String,
    },
    /// The store's integrity check failed.
    #[error("{}", self.message_with(config_name))]
    StorePassword {
        /// The store.
        store: String,
        /// The file the password was read from (`None` when given in memory).
        password_file: Option<PathBuf>,
    },
    /// The key could not be decrypted with the key password given.
    #[error("{}", self.message_with(config_name))]
    KeyPassword {
        /// The store.
        store: String,
        /// The key's alias.
        alias: String,
        /// The file the key's own password was read from (`keys.<alias>.passwordFile`).
        password_file: Option<PathBuf>,
        /// Whether the store password was tried because no key password was given.
        store_password_tried: bool,
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
    /// A key or the store's contents are encrypted with a scheme Sluice does not read.
    #[error(
        "keystore {store}: {part} is encrypted with {scheme} (OID {oid}), which Sluice does not read; re-export the store with PBES2 and AES (keytool -importkeystore -deststoretype PKCS12 of JDK 12 or later, or openssl pkcs12 -export without -legacy)"
    )]
    UnsupportedScheme {
        /// The store.
        store: String,
        /// What is encrypted with it (`key "alias"`, `a certificate safe`, ...).
        part: String,
        /// The scheme's name, as far as known.
        scheme: &'static str,
        /// The scheme's OID (a PBE, or PBES2's key derivation or cipher).
        oid: String,
    },
    /// Opening the store would run more key-derivation iterations than one load may.
    #[error(
        "keystore {store}: opening it takes at least {needed} key-derivation iterations, more than the {budget} one store may cost (KDF_ITERATIONS_BUDGET; keytool's and openssl's stores take under 100,000): too many encrypted bags or too high iteration counts; re-export it with the tools' defaults"
    )]
    KdfBudget {
        /// The store.
        store: String,
        /// The iterations one load may run.
        budget: u64,
        /// The iterations counted when the budget was passed (at least).
        needed: u64,
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

/// Names a setting of the key configuration (`keys.key-0.passwordFile`) as a message shows
/// it: [`config_name`] for the agent's configuration, or a tool's flag.
pub type NameSetting = fn(&str) -> String;

/// `encryption.keyProvider.<key>`: how the agent's configuration names a setting.
pub fn config_name(key: &str) -> String {
    format!("encryption.keyProvider.{key}")
}

impl KeystoreError {
    /// [`KeystoreError::UnsupportedScheme`] for `oid`, named.
    pub(crate) fn scheme(store: String, part: String, oid: &der::asn1::ObjectIdentifier) -> Self {
        KeystoreError::UnsupportedScheme {
            store,
            part,
            scheme: super::pbe::scheme_name(oid),
            oid: oid.to_string(),
        }
    }

    /// The setting (under `encryption.keyProvider.`) to fix: the file that could not be
    /// read, the password file a wrong password came from (or should come from), `keys` for
    /// a missing alias, else `keyStoreFile`.
    pub fn setting(&self) -> String {
        match self {
            KeystoreError::Io { config_key, .. }
            | KeystoreError::NotAFile { config_key, .. }
            | KeystoreError::PasswordNotText { config_key, .. } => config_key.clone(),
            KeystoreError::StorePassword { .. } => "keyStorePasswordFile".to_owned(),
            KeystoreError::KeyPassword { alias, .. } => format!("keys.{alias}.passwordFile"),
            KeystoreError::NoSuchAlias { .. } => "keys".to_owned(),
            _ => "keyStoreFile".to_owned(),
        }
    }

    /// The message, each setting named by `name` (`Display` names them as the agent's
    /// configuration does; a tool passes its flags).
    pub fn message_with(&self, name: NameSetting) -> String {
        match self {
            KeystoreError::Io {
                path,
                config_key,
                source,
            } => format!(
                "cannot read {} ({}): {source}",
                path.display(),
                name(config_key)
            ),
            KeystoreError::NotAFile { path, config_key } => {
                format!(
                    "{} ({}) is not a regular file",
                    path.display(),
                    name(config_key)
                )
            }
            KeystoreError::PasswordNotText { path, config_key } => format!(
                "password file {} ({}) is not UTF-8 text",
                path.display(),
                name(config_key)
            ),
            KeystoreError::StorePassword {
                store,
                password_file,
            } => {
                let setting = name("keyStorePasswordFile");
                format!(
                    "keystore {store}: wrong store password{}, or the file is damaged (its integrity check failed); put the store's password (keytool -storepass) in the file {setting} names",
                    read_from(password_file.as_deref(), &setting)
                )
            }
            KeystoreError::KeyPassword {
                store,
                alias,
                password_file,
                store_password_tried,
            } => {
                let setting = name(&format!("keys.{alias}.passwordFile"));
                let fix = match password_file {
                    Some(f) => format!(
                        "{}; put the key's own password (keytool -keypass) in that file",
                        read_from(Some(f), &setting)
                    ),
                    None if *store_password_tried => format!(
                        ": the store password was tried, as no {setting} was given; a key made with its own password (keytool -keypass) needs {setting} naming a file that holds it"
                    ),
                    None => String::new(),
                };
                format!("keystore {store}: wrong password for key {alias:?}{fix}")
            }
            other => other.to_string(),
        }
    }
}

/// ` (read from FILE, SETTING)`, or nothing without a file.
fn read_from(file: Option<&std::path::Path>, setting: &str) -> String {
    file.map_or_else(String::new, |f| {
        format!(" (read from {}, {setting})", f.display())
    })
}
