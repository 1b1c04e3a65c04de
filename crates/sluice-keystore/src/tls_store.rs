//! The TLS material [`super::tls::read_pkcs12`] gives back: a store's private keys
//! ([`TlsKey`], PKCS#8 DER, wiped on drop), certificates ([`TlsCert`], DER) and the chain of
//! a key ([`TlsStore::chain`]).

use zeroize::Zeroizing;

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
