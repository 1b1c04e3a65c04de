//! [`load_key_files`]: Flume's key configuration ([`KeyFiles`]: `keyStoreFile`,
//! `keyStorePasswordFile`, `keys`, `keys.<alias>.passwordFile`) loaded through the core's
//! [`Fs`] seam, and [`JavaKeystores`], the core's key provider doing it. Password files are read whole, one trailing `\n` or `\r\n` removed; every file
//! must be a regular file, and one that group or others may read is reported as a
//! [`KeyWarning`] (the caller logs it). No message holds a password.

use std::io;
use std::path::Path;
use std::sync::Arc;

use sluice_core::io::{FileKind, Fs, Links};
use sluice_core::keys::{KeyFiles, KeyProvider, KeySource, KeyWarning, LoadedKeys, ProviderError};
use zeroize::Zeroizing;

use super::error::KeystoreError;
use super::store::Keystore;

/// Largest password file read, in bytes.
pub const PASSWORD_FILE_BYTES_MAX: u64 = 64 * 1024;
/// Largest keystore file read, in bytes (real ones are a few kilobytes).
pub const KEYSTORE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Permission bits that let group or others read a file.
const GROUP_OTHER_READ: u32 = 0o044;

/// The core's key provider: Flume's `JCEKSFILE` files read as [`load_key_files`] reads them.
#[derive(Clone, Copy, Debug, Default)]
pub struct JavaKeystores;

impl KeyProvider for JavaKeystores {
    fn load(&self, fs: &dyn Fs, files: &KeyFiles) -> Result<LoadedKeys, ProviderError> {
        Ok(load_key_files(fs, files)?)
    }
}

/// A channel configuration's key source reading Java keystores ([`JavaKeystores`]).
pub fn key_source() -> KeySource {
    KeySource::new(Arc::new(JavaKeystores))
}

/// Reads the keystore and password files of `files` through `fs` and decrypts every
/// configured key: one per alias, in its order.
pub fn load_key_files(fs: &dyn Fs, files: &KeyFiles) -> Result<LoadedKeys, KeystoreError> {
    let mut warnings = Vec::new();
    let store_bytes = read_checked(
        fs,
        &files.keystore_file,
        "keyStoreFile",
        KEYSTORE_BYTES_MAX,
        &mut warnings,
    )?;
    let name = files.keystore_file.display().to_string();
    let store = Keystore::parse_named(&name, &store_bytes)?;
    let store_password = password(
        fs,
        &files.store_password_file,
        "keyStorePasswordFile",
        &mut warnings,
    )?;
    let mut keys = Vec::with_capacity(files.keys.len());
    for (alias, file) in &files.keys {
        let key_password = match file {
            Some(path) => {
                let config_key = format!("keys.{alias}.passwordFile");
                Some(password(fs, path, &config_key, &mut warnings)?)
            }
            None => None,
        };
        let key_password = key_password.as_ref().map(|p| p.as_str());
        let key = store
            .secret_key(alias, &store_password, key_password)
            .map_err(|e| with_files(files, e, file.as_deref()))?;
        keys.push(key);
    }
    // The core and `sluice-flume` pair the aliases with the keys by position.
    assert_eq!(keys.len(), files.keys.len(), "one key per configured alias");
    Ok(LoadedKeys { keys, warnings })
}

/// `e` naming the password file a wrong password was read from (`key_file`: the key's own,
/// when it has one).
fn with_files(files: &KeyFiles, e: KeystoreError, key_file: Option<&Path>) -> KeystoreError {
    match e {
        KeystoreError::StorePassword { store, .. } => KeystoreError::StorePassword {
            store,
            password_file: Some(files.store_password_file.clone()),
        },
        KeystoreError::KeyPassword {
            store,
            alias,
            store_password_tried,
            ..
        } => KeystoreError::KeyPassword {
            store,
            alias,
            password_file: key_file.map(Path::to_path_buf),
            store_password_tried,
        },
        other => other,
    }
}

/// A password file's text, one trailing line ending removed.
fn password(
    fs: &dyn Fs,
    path: &Path,
    config_key: &str,
    warnings: &mut Vec<KeyWarning>,
) -> Result<Zeroizing<String>, KeystoreError> {
    let mut bytes = read_checked(fs, path, config_key, PASSWORD_FILE_BYTES_MAX, warnings)?;
    let len = bytes.len();
    let ending = if bytes.ends_with(b"\r\n") {
        2
    } else {
        usize::from(bytes.ends_with(b"\n"))
    };
    assert!(ending <= len, "a line ending found lies within the file");
    bytes.truncate(len - ending);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(KeystoreError::PasswordNotText {
            path: path.to_path_buf(),
            config_key: config_key.to_owned(),
        }),
    }
}

/// A whole regular file of at most `max` bytes, in a zeroizing buffer.
fn read_checked(
    fs: &dyn Fs,
    path: &Path,
    config_key: &str,
    max: u64,
    warnings: &mut Vec<KeyWarning>,
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let io_error = |source: io::Error| KeystoreError::Io {
        path: path.to_path_buf(),
        config_key: config_key.to_owned(),
        source,
    };
    let info = fs.file_info(path).map_err(io_error)?;
    if info.kind != FileKind::File {
        return Err(KeystoreError::NotAFile {
            path: path.to_path_buf(),
            config_key: config_key.to_owned(),
        });
    }
    if info.mode & GROUP_OTHER_READ != 0 {
        warnings.push(KeyWarning {
            path: path.to_path_buf(),
            message: format!(
                "{} (encryption.keyProvider.{config_key}) is readable by group or others (mode {:o}); chmod 600 it",
                path.display(),
                info.mode
            ),
        });
    }
    // Non-blocking and checked on the descriptor: a path swapped to a FIFO (or anything not
    // a regular file) after the check above is refused, never waited on. A keystore may be
    // a link (to a secrets mount), so links are followed.
    let file = fs.open_regular(path, Links::Follow).map_err(|e| {
        if sluice_core::io::not_regular(&e).is_some() {
            KeystoreError::NotAFile {
                path: path.to_path_buf(),
                config_key: config_key.to_owned(),
            }
        } else {
            io_error(e)
        }
    })?;
    let len = file.len().map_err(io_error)?;
    if len > max {
        let msg = format!("{len} bytes, more than the {max} read");
        return Err(io_error(io::Error::new(io::ErrorKind::InvalidData, msg)));
    }
    let mut buf = Zeroizing::new(vec![0u8; len as usize]);
    file.read_exact_at(&mut buf, 0).map_err(io_error)?;
    Ok(buf)
}
