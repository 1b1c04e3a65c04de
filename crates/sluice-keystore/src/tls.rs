//! TLS material from PKCS#12 stores: the private keys (PKCS#8 DER) and X.509 certificates
//! (DER) of a store `keytool` or `openssl pkcs12 -export` wrote, for the RPC layer's
//! `keystore` and `truststore`. [`read_pkcs12`] checks the store's MAC with the password first
//! (a mismatch is [`KeystoreError::StorePassword`]), then opens every content: plain `data`,
//! and `encryptedData` decrypted with the store password, as each `pkcs8ShroudedKeyBag`, by
//! the schemes keytool and OpenSSL write (PBES2 with PBKDF2-HMAC-SHA-2 and AES-CBC;
//! PKCS#12's PBE with 3DES or RC2, `-legacy`). Any other scheme is refused naming its OID
//! ([`KeystoreError::UnsupportedScheme`]). The same PFX parse and MAC check as the secret-key
//! reader ([`super::Keystore`]).
//!
//! One load runs at most [`KDF_ITERATIONS_BUDGET`] key-derivation iterations in all
//! (kdf_budget.rs): the MAC's and the encrypted contents' are charged before the first runs,
//! each shrouded key's before it runs; past it the load is refused with
//! [`KeystoreError::KdfBudget`], naming the store and the budget.

use super::error::KeystoreError;
pub use super::kdf_budget::KDF_ITERATIONS_BUDGET;
use super::kdf_budget::{KdfBudget, OverBudget};
use super::pkcs12::{open_pfx, Pfx12};
use super::pkcs12_crypto::{check_store_mac, mac_iterations};
use super::reader::Malformed;
use super::store::MEMORY_STORE_NAME;
use super::tls_bags::{collect, content_iterations, safe_contents, BagFault};
pub use super::tls_store::{TlsCert, TlsKey, TlsStore};
use super::unsealed::UnsealError;

/// Most bags read from one store (keys, certificates and any others): a TLS store holds a
/// handful; a trust bundle a few hundred.
pub const TLS_BAGS_MAX: usize = 4096;

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
    read_pkcs12_within(name, bytes, password, KDF_ITERATIONS_BUDGET)
}

/// As [`read_pkcs12_named`], running at most `budget` key-derivation iterations in all.
pub fn read_pkcs12_within(
    name: &str,
    bytes: &[u8],
    password: &str,
    budget: u64,
) -> Result<TlsStore, KeystoreError> {
    let Pfx12 {
        auth_safe,
        infos,
        mac,
    } = open_pfx(bytes).map_err(|m| corrupt(name, m))?;
    let mut budget = KdfBudget::new(budget);
    // What the outer layer declares, before any derivation runs.
    let declared = infos
        .iter()
        .map(content_iterations)
        .fold(mac.as_ref().map_or(0, mac_iterations), u64::saturating_add);
    budget.charge(declared).map_err(|o| over_budget(name, o))?;
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
            collect(bag, password, &mut store, &mut budget).map_err(fault)?;
        }
    }
    assert!(
        store.keys.len() + store.certs.len() <= bags_read,
        "each key and certificate comes from a bag of its own"
    );
    Ok(store)
}

fn over_budget(store: &str, o: OverBudget) -> KeystoreError {
    KeystoreError::KdfBudget {
        store: store.to_owned(),
        budget: o.budget,
        needed: o.needed,
    }
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
        BagFault::OverBudget(o) => over_budget(&store, o),
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
