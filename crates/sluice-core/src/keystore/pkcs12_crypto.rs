//! PKCS#12 integrity and key decryption: the MAC (HMAC-SHA-1/-256/-384/-512 keyed by the
//! PKCS#12 KDF over the BMP password), and a shrouded key's decryption by PBES2 (PBKDF2, AES-CBC:
//! keytool's default) or by the older `pbeWithSHAAnd3-KeyTripleDES-CBC`. All primitives are
//! RustCrypto's; every iteration count is bounded by [`ITERATIONS_MAX`].

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use hmac::{KeyInit, Mac};
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::MacData;
use sha2::{Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::unsealed::{UnsealError, Unsealed};

/// Largest iteration count accepted (MAC, KDF), as the JDK's `PKCS12KeyStore`.
pub(crate) const ITERATIONS_MAX: u32 = 5_000_000;

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
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

/// An iteration count (MAC or KDF) outside `1..=ITERATIONS_MAX`.
#[derive(Debug, thiserror::Error)]
#[error("iteration count {iterations}")]
struct IterationCount {
    /// The count the store gives.
    iterations: i32,
}

/// `iterations` when it is within `1..=ITERATIONS_MAX`.
fn bounded(iterations: i32) -> Result<i32, IterationCount> {
    match u32::try_from(iterations) {
        Ok(n) if (1..=ITERATIONS_MAX).contains(&n) => {
            assert!(
                iterations > 0,
                "a count within the bound is positive as an i32"
            );
            Ok(iterations)
        }
        _ => Err(IterationCount { iterations }),
    }
}

/// Decrypts a shrouded key (`EncryptedPrivateKeyInfo`, DER) with `password` and reads the
/// PKCS#8 `PrivateKeyInfo` inside: its algorithm and raw key bytes.
pub(crate) fn open_shrouded(der: &[u8], password: &str) -> Result<Unsealed, UnsealError> {
    let info = EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|_| UnsealError::Unsupported("encrypted key structure".into()))?;
    let mut buf = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let sealed_bytes = buf.len();
    let alg = &info.encryption_algorithm;
    let plain_len = if alg.oid == PBES2 {
        let alg_der = alg
            .to_der()
            .map_err(|_| UnsealError::Unsupported("PBES2 parameters".into()))?;
        let scheme = pkcs5::EncryptionScheme::try_from(alg_der.as_slice())
            .map_err(|e| UnsealError::Unsupported(format!("PBES2 parameters ({e})")))?;
        let pkcs5::EncryptionScheme::Pbes2(params) = &scheme else {
            return Err(UnsealError::Unsupported("PBES1 key encryption".into()));
        };
        match &params.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(p) if p.iteration_count <= ITERATIONS_MAX => {}
            pkcs5::pbes2::Kdf::Pbkdf2(p) => {
                let n = p.iteration_count;
                return Err(UnsealError::Unsupported(format!("iteration count {n}")));
            }
            _ => return Err(UnsealError::Unsupported("key derivation scrypt".into())),
        }
        // Java's PBKDF2 takes the characters as UTF-8 (keytool allows ASCII only here).
        let plain = scheme
            .decrypt_in_place(password.as_bytes(), &mut buf)
            .map_err(|_| UnsealError::WrongPassword)?;
        plain.len()
    } else if alg.oid == pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC {
        tdes_pbe1(alg, password, &mut buf)?
    } else {
        return Err(UnsealError::Unsupported(format!(
            "key encryption {}",
            alg.oid
        )));
    };
    assert!(
        plain_len < sealed_bytes || sealed_bytes == 0,
        "CBC padding removed at least one byte of the shrouded key"
    );
    read_key_info(buf.get(..plain_len).unwrap_or(&[])).ok_or(UnsealError::WrongPassword)
}

/// `pbeWithSHAAnd3-KeyTripleDES-CBC` (older keytools): PKCS#12 KDF with SHA-1, 3DES-CBC.
fn tdes_pbe1(
    alg: &spki::AlgorithmIdentifierOwned,
    password: &str,
    buf: &mut [u8],
) -> Result<usize, UnsealError> {
    let params = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pkcs12PbeParams>().ok())
        .ok_or_else(|| UnsealError::Unsupported("PBE parameters".into()))?;
    let iterations =
        bounded(params.iterations).map_err(|e| UnsealError::Unsupported(e.to_string()))?;
    let salt = params.salt.as_bytes();
    let derive = |id, len| {
        derive_key_utf8::<sha1::Sha1>(password, salt, id, iterations, len)
            .map(Zeroizing::new)
            .map_err(|_| UnsealError::Unsupported("a password outside Unicode's BMP".into()))
    };
    let key = derive(Pkcs12KeyType::EncryptionKey, 24)?;
    let iv = derive(Pkcs12KeyType::Iv, 8)?;
    assert_eq!((key.len(), iv.len()), (24, 8), "3DES's key and IV lengths");
    let dec = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
        .map_err(|_| UnsealError::Unsupported("3DES key length".into()))?;
    let plain = dec
        .decrypt_padded::<Pkcs7>(buf)
        .map_err(|_| UnsealError::WrongPassword)?;
    Ok(plain.len())
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
