//! PKCS#12 integrity and key decryption: the MAC (HMAC-SHA-1/-256/-384/-512 keyed by the
//! PKCS#12 KDF over the BMP password, iterations bounded by [`pbe::ITERATIONS_MAX`]), and a
//! shrouded key's decryption by the schemes of [`pbe`]. All primitives are RustCrypto's.

use der::asn1::ObjectIdentifier;
use der::Decode;
use hmac::{KeyInit, Mac};
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use pkcs12::pbe_params::EncryptedPrivateKeyInfo;
use pkcs12::MacData;
use sha2::{Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::error::KeystoreError;
use super::pbe::{self, bounded};
use super::unsealed::{UnsealError, Unsealed};

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const AES_ARC: &str = "2.16.840.1.101.3.4.1";

/// Why the MAC did not verify.
#[derive(Debug)]
pub(crate) enum MacError {
    /// Wrong store password, or damaged contents.
    Mismatch,
    /// A digest or iteration count not supported (named).
    Unsupported(String),
}

/// Checks the store's MAC over `auth_safe` with `password`.
pub(crate) fn verify_mac(mac: &MacData, auth_safe: &[u8], password: &str) -> Result<(), MacError> {
    let iterations = bounded(mac.iterations).map_err(|e| MacError::Unsupported(e.to_string()))?;
    let salt = mac.mac_salt.as_bytes();
    let want = mac.mac.digest.as_bytes();
    let alg = mac.mac.algorithm.oid;
    let ok = if alg == SHA1 {
        check::<sha1::Sha1>(password, salt, iterations, auth_safe, want)
    } else if alg == SHA256 {
        check::<Sha256>(password, salt, iterations, auth_safe, want)
    } else if alg == SHA384 {
        check::<Sha384>(password, salt, iterations, auth_safe, want)
    } else if alg == SHA512 {
        check::<Sha512>(password, salt, iterations, auth_safe, want)
    } else {
        return Err(MacError::Unsupported(format!("MAC digest {alg}")));
    };
    ok.ok_or(MacError::Mismatch)
}

/// Checks a store's MAC, when it has one, as [`verify_mac`]; the errors name the store: a
/// mismatch is the wrong-password error, an unknown digest or count is unsupported.
pub(crate) fn check_store_mac(
    store: &str,
    mac: Option<&MacData>,
    auth_safe: &[u8],
    password: &str,
) -> Result<(), KeystoreError> {
    let Some(mac) = mac else {
        return Ok(());
    };
    verify_mac(mac, auth_safe, password).map_err(|e| match e {
        MacError::Mismatch => KeystoreError::StorePassword {
            store: store.to_owned(),
            password_file: None,
        },
        MacError::Unsupported(what) => KeystoreError::Unsupported {
            store: store.to_owned(),
            what,
        },
    })
}

fn check<D>(password: &str, salt: &[u8], iterations: i32, data: &[u8], want: &[u8]) -> Option<()>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset + sha2::digest::block_api::BlockSizeUser,
    hmac::SimpleHmac<D>: KeyInit + Mac,
{
    let len = <D as sha2::Digest>::output_size();
    let key = Zeroizing::new(
        derive_key_utf8::<D>(password, salt, Pkcs12KeyType::Mac, iterations, len).ok()?,
    );
    assert_eq!(key.len(), len, "the MAC key is the digest's length");
    let mut hmac = <hmac::SimpleHmac<D> as KeyInit>::new_from_slice(&key).ok()?;
    hmac.update(data);
    hmac.verify_slice(want).ok()
}

/// The key-derivation iterations checking `mac` runs (0 for a count that is refused unrun).
pub(crate) fn mac_iterations(mac: &MacData) -> u64 {
    u64::try_from(mac.iterations).unwrap_or(0)
}

/// The key-derivation iterations decrypting the shrouded key `der` runs (0 when it does not
/// parse: refused unrun).
pub(crate) fn shrouded_iterations(der: &[u8]) -> u64 {
    EncryptedPrivateKeyInfo::from_der(der)
        .map_or(0, |i| pbe::kdf_iterations(&i.encryption_algorithm))
}

/// Decrypts a shrouded key (`EncryptedPrivateKeyInfo`, DER) with `password`: the PKCS#8
/// `PrivateKeyInfo`'s DER, checked to parse as one (a wrong password whose padding matched by
/// chance does not).
pub(crate) fn decrypt_shrouded(
    der: &[u8],
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
    let info = EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|_| UnsealError::Unsupported("encrypted key structure".into()))?;
    let plain = pbe::decrypt(
        &info.encryption_algorithm,
        password,
        info.encrypted_data.as_bytes(),
    )?;
    if KeyInfo::from_der(&plain).is_err() {
        return Err(UnsealError::WrongPassword);
    }
    Ok(plain)
}

/// Decrypts a shrouded key (`EncryptedPrivateKeyInfo`, DER) with `password` and reads the
/// PKCS#8 `PrivateKeyInfo` inside: its algorithm and raw key bytes.
pub(crate) fn open_shrouded(der: &[u8], password: &str) -> Result<Unsealed, UnsealError> {
    let plain = decrypt_shrouded(der, password)?;
    read_key_info(&plain).ok_or(UnsealError::WrongPassword)
}

/// PKCS#8 `PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING, .. }`.
#[derive(der::Sequence)]
struct KeyInfo<'a> {
    version: u8,
    algorithm: AlgorithmIdentifierRef<'a>,
    key: &'a der::asn1::OctetStringRef,
}

fn read_key_info(plain: &[u8]) -> Option<Unsealed> {
    let info = KeyInfo::from_der(plain).ok()?;
    let oid = info.algorithm.oid.to_string();
    let algorithm = if oid == AES_ARC || oid.starts_with(&format!("{AES_ARC}.")) {
        "AES".to_owned()
    } else {
        oid
    };
    Some(Unsealed {
        algorithm,
        bytes: Zeroizing::new(info.key.as_bytes().to_vec()),
    })
}
