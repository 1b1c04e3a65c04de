//! TLS material from PKCS#12 stores: the private keys (PKCS#8 DER) and X.509 certificates
//! (DER) of a store `keytool` or `openssl pkcs12 -export` wrote, for the RPC layer's
//! `keystore` and `truststore`. [`read_pkcs12`] checks the store's MAC with the password first
//! (a mismatch is [`KeystoreError::StorePassword`]), then opens every content: plain `data`,
//! and `encryptedData` decrypted with the store password, as each `pkcs8ShroudedKeyBag`, by
//! the schemes keytool and OpenSSL write (PBES2 with PBKDF2-HMAC-SHA-2 and AES-CBC;
//! PKCS#12's PBE with 3DES or RC2, `-legacy`). Any other scheme is refused naming its OID
//! ([`KeystoreError::UnsupportedScheme`]). The same PFX parse and MAC check as the secret-key
//! reader ([`super::Keystore`]).

use zeroize::Zeroizing;

use super::error::KeystoreError;
use super::pkcs12::{open_pfx, Pfx12};
use super::pkcs12_crypto::check_store_mac;
use super::reader::Malformed;
use super::store::MEMORY_STORE_NAME;
use super::tls_bags::{collect, safe_contents, BagFault};
use super::unsealed::UnsealError;

/// Most bags read from one store (keys, certificates and any others): a TLS store holds a
/// handful; a trust bundle a few hundred.
pub const TLS_BAGS_MAX: usize = 4096;

/// A private key of a PKCS#12 store.
pub struct TlsKey {
    pub(crate) pkcs8_der: Zeroizing<Vec<u8>>,
    pub(crate) local_key_id: Option<Vec<u8>>,
    pub(crate) friendly_name: Option<String>,
}

impl TlsKey {
    /// The key as a PKCS#8 `PrivateKeyInfo`, DER (decrypted).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8_der
    }

    /// Its `localKeyId` attribute: the same bytes mark its certificate.
    pub fn local_key_id(&self) -> Option<&[u8]> {
        self.local_key_id.as_deref()
    }

    /// Its `friendlyName` attribute (keytool's alias, openssl's `-name`).
    pub fn friendly_name(&self) -> Option<&str> {
        self.friendly_name.as_deref()
    }
}

impl std::fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsKey")
            .field("pkcs8_bytes", &self.pkcs8_der.len())
            .field("local_key_id", &self.local_key_id)
            .field("friendly_name", &self.friendly_name)
            .finish()
    }
}

/// An X.509 certificate of a PKCS#12 store.
#[derive(Clone, Debug)]
pub struct TlsCert {
    pub(crate) der: Vec<u8>,
    pub(crate) local_key_id: Option<Vec<u8>>,
    pub(crate) friendly_name: Option<String>,
}

impl TlsCert {
    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Its `localKeyId` attribute: set on the certificate of a key.
    pub fn local_key_id(&self) -> Option<&[u8]> {
        self.local_key_id.as_deref()
    }

    /// Its `friendlyName` attribute.
    pub fn friendly_name(&self) -> Option<&str> {
        self.friendly_name.as_deref()
    }
}

/// The keys and certificates of a PKCS#12 store, in the store's order.
#[derive(Debug, Default)]
pub struct TlsStore {
    pub(crate) keys: Vec<TlsKey>,
    pub(crate) certs: Vec<TlsCert>,
}

impl TlsStore {
    /// The private keys.
    pub fn keys(&self) -> &[TlsKey] {
        &self.keys
    }

    /// Every certificate.
    pub fn certs(&self) -> &[TlsCert] {
        &self.certs
    }

    /// The certificate chain of `key`, leaf first: the certificates with the key's
    /// `localKeyId`, then those without one (the chain's authorities), in the store's order;
    /// the certificates of other keys are left out. A key without a `localKeyId` gets every
    /// certificate.
    pub fn chain(&self, key: &TlsKey) -> Vec<&TlsCert> {
        let Some(id) = key.local_key_id() else {
            return self.certs.iter().collect();
        };
        let leaf = self.certs.iter().filter(|c| c.local_key_id() == Some(id));
        let rest = self.certs.iter().filter(|c| c.local_key_id().is_none());
        let chain: Vec<&TlsCert> = leaf.chain(rest).collect();
        assert!(
            chain.len() <= self.certs.len(),
            "a chain takes each certificate at most once"
        );
        chain
    }
}

/// Reads a PKCS#12 store's keys and certificates with `password`; errors name the store
/// `<memory>`.
pub fn read_pkcs12(bytes: &[u8], password: &str) -> Result<TlsStore, KeystoreError> {
    read_pkcs12_named(MEMORY_STORE_NAME, bytes, password)
}

/// As [`read_pkcs12`], with the name (a path) its errors give.
pub fn read_pkcs12_named(
    name: &str,
    bytes: &[u8],
    password: &str,
) -> Result<TlsStore, KeystoreError> {
    let Pfx12 {
        auth_safe,
        infos,
        mac,
    } = open_pfx(bytes).map_err(|m| corrupt(name, m))?;
    check_store_mac(name, mac.as_ref(), &auth_safe, password)?;
    let fault = |f| named(name, f, mac.is_some());
    let mut store = TlsStore::default();
    let mut bags_read = 0usize;
    for (index, info) in infos.iter().enumerate() {
        let bags = safe_contents(info, index, password).map_err(fault)?;
        bags_read += bags.len();
        if bags_read > TLS_BAGS_MAX {
            return Err(KeystoreError::Unsupported {
                store: name.to_owned(),
                what: format!("a PKCS12 store of more than {TLS_BAGS_MAX} bags"),
            });
        }
        for bag in &bags {
            collect(bag, password, &mut store).map_err(fault)?;
        }
    }
    assert!(
        store.keys.len() + store.certs.len() <= bags_read,
        "each key and certificate comes from a bag of its own"
    );
    Ok(store)
}

fn corrupt(store: &str, m: Malformed) -> KeystoreError {
    KeystoreError::Corrupt {
        store: store.to_owned(),
        offset: m.offset,
        reason: m.reason,
    }
}

/// A bag's fault, given the store's name. Contents that do not decrypt with a password the
/// MAC accepted are damage, or (for a key) a key password of its own; without a MAC, a wrong
/// store password.
fn named(store: &str, fault: BagFault, has_mac: bool) -> KeystoreError {
    let store = store.to_owned();
    match fault {
        BagFault::Malformed(m) => corrupt(&store, m),
        BagFault::ContentType(oid) => KeystoreError::Unsupported {
            store,
            what: format!(
                "PKCS12 contents of type {oid} (public-key encrypted; only password-encrypted contents are read)"
            ),
        },
        BagFault::Unseal { part, error } => match error {
            UnsealError::Scheme(oid) => KeystoreError::scheme(store, part, &oid),
            UnsealError::Unsupported(what) => KeystoreError::Unsupported {
                store,
                what: format!("{what} ({part})"),
            },
            _ if !has_mac => KeystoreError::StorePassword {
                store,
                password_file: None,
            },
            _ => KeystoreError::Corrupt {
                store,
                offset: 0,
                reason: format!(
                    "{part} does not decrypt with the store password its MAC accepted (a key password of its own is not supported)"
                ),
            },
        },
    }
}
