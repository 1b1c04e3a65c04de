//! [`KeyFiles`] (what Flume's key configuration names), [`KeyProvider`] (what reads them) and
//! [`KeySource`] (the provider a channel configuration carries).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::SecretKey;
use crate::io::Fs;

/// A provider's error, boxed: its own typed error (`sluice-keystore`'s names the file and the
/// configuration key), shown as it is.
pub type ProviderError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The files of Flume's `JCEKSFILE` key provider, as its configuration names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFiles {
    /// `encryption.keyProvider.keyStoreFile`.
    pub keystore_file: PathBuf,
    /// `encryption.keyProvider.keyStorePasswordFile`.
    pub store_password_file: PathBuf,
    /// `encryption.keyProvider.keys`, each with its `keys.<alias>.passwordFile` if set (the
    /// store password otherwise).
    pub keys: Vec<(String, Option<PathBuf>)>,
}

/// Something wrong but not fatal about a file of the key configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWarning {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// The keys of a [`KeyFiles`], in its order, and the warnings about its files.
#[derive(Debug)]
pub struct LoadedKeys {
    /// One key per configured alias, in the order of [`KeyFiles::keys`].
    pub keys: Vec<SecretKey>,
    /// Files readable by group or others.
    pub warnings: Vec<KeyWarning>,
}

/// Reads the keys a [`KeyFiles`] names. Implementations return one key per configured alias,
/// in its order (the caller checks), and read files only through `fs`.
pub trait KeyProvider: Send + Sync {
    /// The keys of `files`, read through `fs`.
    fn load(&self, fs: &dyn Fs, files: &KeyFiles) -> Result<LoadedKeys, ProviderError>;
}

/// The key provider a channel's `encryption.*` is read with: set by the embedding program
/// (the configuration cannot name code). Two sources are equal when both or neither hold a
/// provider: it is wiring, not configuration, and a reloaded configuration keeps its channel.
#[derive(Clone, Default)]
pub struct KeySource(Option<Arc<dyn KeyProvider>>);

impl KeySource {
    /// A source reading keys with `provider`.
    pub fn new(provider: Arc<dyn KeyProvider>) -> Self {
        KeySource(Some(provider))
    }

    /// The provider, if one was set.
    pub fn provider(&self) -> Option<&dyn KeyProvider> {
        self.0.as_deref()
    }
}

impl PartialEq for KeySource {
    fn eq(&self, other: &Self) -> bool {
        self.0.is_some() == other.0.is_some()
    }
}

impl Eq for KeySource {}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "KeySource(provider)"
        } else {
            "KeySource(none)"
        })
    }
}
