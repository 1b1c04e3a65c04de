//! [`EncryptionConfig`]: Flume's `encryption.*` keys of a file channel, read as Flume reads
//! them (`activeKey`, `cipherProvider`, `keyProvider = JCEKSFILE` with `keyStoreFile`,
//! `keyStorePasswordFile`, `keys` and `keys.<alias>.passwordFile`), and the [`Keyring`] they
//! load through the embedder's [`KeyProvider`](crate::keys::KeyProvider) (the core reads no
//! keystore). `AESCTRNOPADDING`, Flume's only cipher, is accepted and mapped to Sluice's sealed
//! segments (AES-256-GCM, docs/encryption.md): the keys a Flume user made keep working.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{err, ConfigError};
use crate::io::Fs;
use crate::keys::{KeyFiles, KeySource, ProviderError};
use crate::wal::seal::{Keyring, SealError};

/// `encryption.cipherProvider`'s one value (case-insensitive, as Flume's enum).
pub const CIPHER_AES_CTR: &str = "AESCTRNOPADDING";
/// `encryption.keyProvider`'s one value.
pub const KEY_PROVIDER_JCEKS: &str = "JCEKSFILE";
const PREFIX: &str = "encryption.";
const KP: &str = "encryption.keyProvider.";

/// A file channel's encryption keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionConfig {
    /// `encryption.activeKey`: the alias new segments are sealed with.
    pub active_key: String,
    /// `encryption.cipherProvider` as written.
    pub cipher_provider: String,
    /// The keystore and password files, and every alias still needed to read old segments.
    pub key_files: KeyFiles,
    /// What reads `key_files`: none until the embedding program sets one.
    pub provider: KeySource,
}

/// Why the configured keys cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// A keystore, password or key problem, as the provider reports it (`sluice-keystore`'s
    /// names the file and the config key).
    #[error("{0}")]
    Provider(ProviderError),
    /// The program opening the channel gave it no key provider.
    #[error("encryption.keyProvider: this program reads no keystore (it set no key provider on the channel's configuration)")]
    NoProvider,
    /// The provider returned another number of keys than the aliases configured.
    #[error("encryption.keyProvider.keys: {configured} aliases configured, the key provider returned {returned} keys")]
    KeyCount {
        /// Aliases in `encryption.keyProvider.keys`.
        configured: usize,
        /// Keys the provider returned.
        returned: usize,
    },
    /// A key of a size or alias the seal does not take, or an active key not listed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl EncryptionConfig {
    /// The `encryption.*` keys among `props` (keys without the channel prefix), or `None`
    /// when there are none. The three Flume requires together must be set together.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> Result<Option<EncryptionConfig>, ConfigError> {
        let get = |k: &str| trimmed(props, k);
        let Some((active, cipher)) = required_trio(props)? else {
            return Ok(None);
        };
        let path = |k: &str| -> Result<PathBuf, ConfigError> {
            let key = format!("{KP}{k}");
            get(&key)
                .map(PathBuf::from)
                .ok_or_else(|| err(&key, "required with encryption.keyProvider = JCEKSFILE"))
        };
        let keystore_file = path("keyStoreFile")?;
        let store_password_file = path("keyStorePasswordFile")?;
        let aliases = listed_aliases(props, active)?;
        check_known_keys(props, &aliases)?;
        let keys = aliases
            .iter()
            .map(|a| {
                let file = get(&format!("{KP}keys.{a}.passwordFile")).map(PathBuf::from);
                (a.clone(), file)
            })
            .collect();
        Ok(Some(EncryptionConfig {
            active_key: active.to_owned(),
            cipher_provider: cipher.to_owned(),
            key_files: KeyFiles {
                keystore_file,
                store_password_file,
                keys,
            },
            provider: KeySource::default(),
        }))
    }

    /// Loads the keys through `fs` (no JVM): the keyring that seals new segments with
    /// `activeKey` and opens those of every listed alias. Files that group or others may read
    /// are logged as warnings.
    pub fn keyring(&self, fs: &dyn Fs) -> Result<Keyring, KeysError> {
        let provider = self.provider.provider().ok_or(KeysError::NoProvider)?;
        let loaded = provider
            .load(fs, &self.key_files)
            .map_err(KeysError::Provider)?;
        if loaded.keys.len() != self.key_files.keys.len() {
            return Err(KeysError::KeyCount {
                configured: self.key_files.keys.len(),
                returned: loaded.keys.len(),
            });
        }
        for w in &loaded.warnings {
            tracing::warn!(path = %w.path.display(), "{}", w.message);
        }
        Ok(Keyring::new(loaded.keys, &self.active_key)?)
    }

    /// This configuration read with `provider`.
    pub fn with_provider(mut self, provider: KeySource) -> Self {
        self.provider = provider;
        self
    }

    /// Rebases relative key file paths on `base` (a tool run from another directory).
    pub fn rebased(mut self, base: &std::path::Path) -> Self {
        let f = &mut self.key_files;
        for p in [&mut f.keystore_file, &mut f.store_password_file] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for (_, p) in f.keys.iter_mut() {
            if let Some(p) = p.as_mut().filter(|p| p.is_relative()) {
                *p = base.join(&*p);
            }
        }
        self
    }
}

/// The value of `key` among `props`, trimmed; `None` when absent or blank.
fn trimmed<'a>(props: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// `activeKey` and `cipherProvider` when the three keys Flume requires together are set (and
/// name the one cipher and key provider), `None` when no `encryption.*` key is set at all.
fn required_trio(props: &BTreeMap<String, String>) -> Result<Option<(&str, &str)>, ConfigError> {
    let active = trimmed(props, "encryption.activeKey");
    let cipher = trimmed(props, "encryption.cipherProvider");
    let provider = trimmed(props, "encryption.keyProvider");
    if active.is_none() && cipher.is_none() && provider.is_none() {
        if let Some(k) = props.keys().find(|k| k.starts_with(PREFIX)) {
            return Err(err(
                k,
                "set without encryption.activeKey, encryption.cipherProvider and encryption.keyProvider",
            ));
        }
        return Ok(None);
    }
    let (Some(active), Some(cipher), Some(provider)) = (active, cipher, provider) else {
        let missing = [
            ("encryption.activeKey", active),
            ("encryption.cipherProvider", cipher),
            ("encryption.keyProvider", provider),
        ]
        .into_iter()
        .find(|(_, v)| v.is_none())
        .map_or("encryption.activeKey", |(k, _)| k);
        return Err(err(
            missing,
            "missing: encryption.activeKey, encryption.cipherProvider and encryption.keyProvider are set together or not at all",
        ));
    };
    if !cipher.eq_ignore_ascii_case(CIPHER_AES_CTR) {
        return Err(err(
            "encryption.cipherProvider",
            format!("{cipher:?} is not supported: Flume's {CIPHER_AES_CTR} is (a Java class is not); Sluice seals with AES-256-GCM either way"),
        ));
    }
    if !provider.eq_ignore_ascii_case(KEY_PROVIDER_JCEKS) {
        return Err(err(
            "encryption.keyProvider",
            format!("{provider:?} is not supported: {KEY_PROVIDER_JCEKS} is (JCEKS and PKCS12 keystores)"),
        ));
    }
    Ok(Some((active, cipher)))
}

/// `encryption.keyProvider.keys`: required, and listing the active key.
fn listed_aliases(
    props: &BTreeMap<String, String>,
    active: &str,
) -> Result<Vec<String>, ConfigError> {
    let aliases: Vec<String> = trimmed(props, "encryption.keyProvider.keys")
        .map(split_aliases)
        .unwrap_or_default();
    if aliases.is_empty() {
        return Err(err(
            "encryption.keyProvider.keys",
            "required: the aliases of every key still needed, the active one included",
        ));
    }
    if !aliases.iter().any(|a| a == active) {
        return Err(err(
            "encryption.activeKey",
            format!("{active:?} is not listed in encryption.keyProvider.keys"),
        ));
    }
    Ok(aliases)
}

/// A list of aliases as Flume writes it (`key-0 key-1`) or with commas (`key-0,key-1`,
/// `key-0, key-1`): both are read the same.
pub fn split_aliases(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every `encryption.*` key is one Flume reads (a password file only for a listed alias).
fn check_known_keys(
    props: &BTreeMap<String, String>,
    aliases: &[String],
) -> Result<(), ConfigError> {
    for k in props.keys().filter(|k| k.starts_with(PREFIX)) {
        let known = matches!(
            k.as_str(),
            "encryption.activeKey"
                | "encryption.cipherProvider"
                | "encryption.keyProvider"
                | "encryption.keyProvider.keyStoreFile"
                | "encryption.keyProvider.keyStorePasswordFile"
                | "encryption.keyProvider.keys"
        ) || password_file_alias(k).is_some_and(|a| aliases.iter().any(|x| x == a));
        if !known {
            return Err(err(k, "unknown encryption key (or a password file for an alias encryption.keyProvider.keys does not list)"));
        }
    }
    Ok(())
}

/// The alias of `encryption.keyProvider.keys.<alias>.passwordFile`.
fn password_file_alias(k: &str) -> Option<&str> {
    k.strip_prefix("encryption.keyProvider.keys.")?
        .strip_suffix(".passwordFile")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const FLUME: &[(&str, &str)] = &[
        ("encryption.activeKey", "key-1"),
        ("encryption.cipherProvider", "AESCTRNOPADDING"),
        ("encryption.keyProvider", "JCEKSFILE"),
        ("encryption.keyProvider.keyStoreFile", "keys/keystore.jceks"),
        (
            "encryption.keyProvider.keyStorePasswordFile",
            "keys/keystore.password",
        ),
        ("encryption.keyProvider.keys", "key-0 key-1"),
        (
            "encryption.keyProvider.keys.key-1.passwordFile",
            "keys/key-1.password",
        ),
    ];

    #[test]
    fn a_flume_encryption_block_reads_as_flume_reads_it() {
        let c = EncryptionConfig::from_properties(&props(FLUME))
            .unwrap()
            .unwrap();
        assert_eq!(c.active_key, "key-1");
        assert_eq!(
            c.key_files.keystore_file,
            PathBuf::from("keys/keystore.jceks")
        );
        assert_eq!(
            c.key_files.keys,
            vec![
                ("key-0".to_owned(), None),
                (
                    "key-1".to_owned(),
                    Some(PathBuf::from("keys/key-1.password"))
                )
            ]
        );
        assert_eq!(
            EncryptionConfig::from_properties(&props(&[])).unwrap(),
            None
        );
    }

    #[test]
    fn keys_are_read_the_same_with_spaces_commas_or_both() {
        for list in [
            "key-0 key-1",
            "key-0,key-1",
            "key-0, key-1",
            " key-0 ,\tkey-1 ",
        ] {
            let mut p = props(FLUME);
            p.insert("encryption.keyProvider.keys".to_owned(), list.to_owned());
            let c = EncryptionConfig::from_properties(&p).unwrap().unwrap();
            let aliases: Vec<&str> = c.key_files.keys.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(aliases, ["key-0", "key-1"], "{list:?}");
        }
    }

    #[test]
    fn every_incomplete_or_foreign_block_names_its_key() {
        let without = |k: &str| {
            let mut p = props(FLUME);
            p.remove(k);
            EncryptionConfig::from_properties(&p).unwrap_err().key
        };
        assert_eq!(
            without("encryption.cipherProvider"),
            "encryption.cipherProvider"
        );
        assert_eq!(
            without("encryption.keyProvider.keyStoreFile"),
            "encryption.keyProvider.keyStoreFile"
        );
        assert_eq!(
            without("encryption.keyProvider.keys"),
            "encryption.keyProvider.keys"
        );
        let with = |k: &str, v: &str| {
            let mut p = props(FLUME);
            p.insert(k.to_owned(), v.to_owned());
            EncryptionConfig::from_properties(&p).unwrap_err()
        };
        assert_eq!(
            with("encryption.activeKey", "key-9").key,
            "encryption.activeKey"
        );
        let e = with("encryption.cipherProvider", "com.example.MyCipher");
        assert!(e.message.contains("AESCTRNOPADDING"), "{e}");
        assert_eq!(
            with("encryption.keyProvider", "KMS").key,
            "encryption.keyProvider"
        );
        let stray = "encryption.keyProvider.keys.key-7.passwordFile";
        assert_eq!(with(stray, "x").key, stray);
        let lone = props(&[("encryption.keyProvider.keys", "key-0")]);
        assert!(EncryptionConfig::from_properties(&lone).is_err());
        let lower = props(&[
            ("encryption.activeKey", "k"),
            ("encryption.cipherProvider", "aesctrnopadding"),
            ("encryption.keyProvider", "jceksfile"),
            ("encryption.keyProvider.keyStoreFile", "s"),
            ("encryption.keyProvider.keyStorePasswordFile", "p"),
            ("encryption.keyProvider.keys", "k"),
        ]);
        assert!(EncryptionConfig::from_properties(&lower).unwrap().is_some());
    }
}
