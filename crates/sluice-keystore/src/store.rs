//! [`Keystore`]: a parsed JCEKS or PKCS#12 store, its aliases, and the one operation that
//! needs passwords, [`Keystore::secret_key`]. Internal faults get the store's name here.

use zeroize::Zeroizing;

use super::error::{EntryKind, KeystoreError};
use super::jceks::Jceks;
use super::key_protector;
use super::pkcs12::{self, Pkcs12};
use super::pkcs12_crypto::{check_store_mac, open_shrouded};
use super::reader::Malformed;
use super::sniff::{sniff, StoreMagic};
use super::unsealed::{UnsealError, Unsealed};
use sluice_core::keys::{SecretKey, AES_KEY_BYTES};

/// The name errors give a store parsed from bytes without a path.
pub const MEMORY_STORE_NAME: &str = "<memory>";

/// A keystore's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeystoreFormat {
    /// Sun's JCEKS.
    Jceks,
    /// PKCS#12.
    Pkcs12,
}

#[derive(Debug)]
enum Inner {
    Jceks(Jceks),
    Pkcs12(Pkcs12),
}

/// A parsed keystore: its structure checked, nothing decrypted yet.
#[derive(Debug)]
pub struct Keystore {
    name: String,
    inner: Inner,
}

impl Keystore {
    /// Parses a keystore's bytes, detecting the format by its first bytes.
    pub fn parse(bytes: &[u8]) -> Result<Keystore, KeystoreError> {
        Keystore::parse_named(MEMORY_STORE_NAME, bytes)
    }

    /// As [`Keystore::parse`], with the name (a path) its errors give.
    pub fn parse_named(name: &str, bytes: &[u8]) -> Result<Keystore, KeystoreError> {
        let name = name.to_owned();
        let inner = match sniff(bytes) {
            Some(StoreMagic::Jceks) => Jceks::parse(bytes).map(Inner::Jceks),
            Some(StoreMagic::Jks) => return Err(KeystoreError::Jks { store: name }),
            Some(StoreMagic::Pkcs12) => pkcs12::parse(bytes).map(Inner::Pkcs12),
            Some(StoreMagic::Pem) | None => {
                let what = "keystore format (neither JCEKS nor PKCS12)".to_owned();
                return Err(KeystoreError::Unsupported { store: name, what });
            }
        };
        match inner {
            Ok(inner) => Ok(Keystore { name, inner }),
            Err(m) => Err(corrupt(name, m)),
        }
    }

    /// The store's format.
    pub fn format(&self) -> KeystoreFormat {
        match self.inner {
            Inner::Jceks(_) => KeystoreFormat::Jceks,
            Inner::Pkcs12(_) => KeystoreFormat::Pkcs12,
        }
    }

    /// The aliases of the store's entries, in the store's order.
    pub fn aliases(&self) -> Vec<String> {
        self.entries().map(|(a, _)| a.to_owned()).collect()
    }

    fn entries(&self) -> Box<dyn Iterator<Item = (&str, EntryKind)> + '_> {
        match &self.inner {
            Inner::Jceks(j) => Box::new(j.entries.iter().map(|e| (e.alias.as_str(), e.kind))),
            Inner::Pkcs12(p) => Box::new(p.entries.iter().map(|e| (e.alias.as_str(), e.kind))),
        }
    }

    /// Checks the store's integrity with `store_password`, then decrypts the secret key
    /// `alias` (compared as Java does, ignoring case) with `key_password` (the store password
    /// when `None`). AES keys must be 16, 24 or 32 bytes.
    pub fn secret_key(
        &self,
        alias: &str,
        store_password: &str,
        key_password: Option<&str>,
    ) -> Result<SecretKey, KeystoreError> {
        self.verify(store_password)?;
        let index = self.find(alias)?;
        let store_password_tried = key_password.is_none();
        let key_password = key_password.unwrap_or(store_password);
        let (stored_alias, opened) = match &self.inner {
            Inner::Jceks(j) => {
                let e = j.entries.get(index).ok_or_else(|| self.no_such(alias))?;
                let sealed = e
                    .sealed
                    .as_ref()
                    .ok_or_else(|| self.not_secret(e.alias.as_str(), e.kind))?;
                (&e.alias, key_protector::unseal(sealed, key_password))
            }
            Inner::Pkcs12(p) => {
                let e = p.entries.get(index).ok_or_else(|| self.no_such(alias))?;
                let der = e
                    .shrouded
                    .as_ref()
                    .ok_or_else(|| self.not_secret(e.alias.as_str(), e.kind))?;
                (&e.alias, open_shrouded(der, key_password))
            }
        };
        assert!(
            stored_alias.to_lowercase() == alias.to_lowercase(),
            "the entry found is the alias asked for, ignoring case"
        );
        let Unsealed { algorithm, bytes } =
            opened.map_err(|e| self.unseal_error(stored_alias, e, store_password_tried))?;
        check_size(&self.name, stored_alias, &algorithm, &bytes)?;
        Ok(SecretKey::new(stored_alias.clone(), algorithm, bytes))
    }

    fn verify(&self, password: &str) -> Result<(), KeystoreError> {
        let store = || self.name.clone();
        match &self.inner {
            Inner::Jceks(j) if j.verify(password) => Ok(()),
            Inner::Jceks(_) => Err(KeystoreError::StorePassword {
                store: store(),
                password_file: None,
            }),
            Inner::Pkcs12(p) => check_store_mac(&self.name, p.mac.as_ref(), &p.auth_safe, password),
        }
    }

    fn find(&self, alias: &str) -> Result<usize, KeystoreError> {
        let want = alias.to_lowercase();
        self.entries()
            .position(|(a, _)| a.to_lowercase() == want)
            .ok_or_else(|| self.no_such(alias))
    }

    fn no_such(&self, alias: &str) -> KeystoreError {
        KeystoreError::NoSuchAlias {
            store: self.name.clone(),
            alias: alias.to_owned(),
            present: self.aliases(),
        }
    }

    fn not_secret(&self, alias: &str, kind: EntryKind) -> KeystoreError {
        KeystoreError::NotASecretKey {
            store: self.name.clone(),
            alias: alias.to_owned(),
            kind,
        }
    }

    fn unseal_error(
        &self,
        alias: &str,
        e: UnsealError,
        store_password_tried: bool,
    ) -> KeystoreError {
        let store = self.name.clone();
        let alias = alias.to_owned();
        match e {
            UnsealError::WrongPassword => KeystoreError::KeyPassword {
                store,
                alias,
                password_file: None,
                store_password_tried,
            },
            UnsealError::PasswordNotAscii => KeystoreError::Unsupported {
                store,
                what: format!("a non-ASCII password for key {alias:?} (JCEKS key passwords are printable ASCII in Java)"),
            },
            UnsealError::Scheme(oid) => KeystoreError::scheme(store, format!("key {alias:?}"), &oid),
            UnsealError::Unsupported(what) => KeystoreError::Unsupported {
                store,
                what: format!("{what} (key {alias:?})"),
            },
        }
    }
}

fn corrupt(store: String, m: Malformed) -> KeystoreError {
    KeystoreError::Corrupt {
        store,
        offset: m.offset,
        reason: m.reason,
    }
}

fn check_size(
    store: &str,
    alias: &str,
    algorithm: &str,
    bytes: &Zeroizing<Vec<u8>>,
) -> Result<(), KeystoreError> {
    if algorithm.eq_ignore_ascii_case("AES") && !AES_KEY_BYTES.contains(&bytes.len()) {
        return Err(KeystoreError::KeySize {
            store: store.to_owned(),
            alias: alias.to_owned(),
            algorithm: algorithm.to_owned(),
            len_bytes: bytes.len(),
        });
    }
    Ok(())
}
