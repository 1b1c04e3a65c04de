//! Password-based decryption of PKCS#12 contents and shrouded keys, by the schemes keytool
//! and OpenSSL write: PBES2 (PBKDF2 with an HMAC-SHA PRF, then AES-CBC: keytool since JDK 12
//! and OpenSSL 3's default) through `pkcs5`, and PKCS#12's own PBE (its KDF with SHA-1) with
//! 3-key 3DES-CBC or 40/128-bit RC2-CBC (`openssl pkcs12 -legacy`, older keytools). Any other
//! scheme is refused by its OID ([`UnsealError::Scheme`]). All primitives are RustCrypto's;
//! every iteration count is bounded by [`ITERATIONS_MAX`], and [`kdf_iterations`] tells what
//! a decryption will run, for the load's total budget (kdf_budget.rs).

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipherDecrypt, BlockModeDecrypt, KeyInit, KeyIvInit};
use der::asn1::ObjectIdentifier;
use der::Encode;
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use pkcs12::pbe_params::Pkcs12PbeParams;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::unsealed::UnsealError;

/// Largest iteration count accepted (MAC, KDF), as the JDK's `PKCS12KeyStore`.
pub(crate) const ITERATIONS_MAX: u32 = 5_000_000;

/// `PBES2` (RFC 8018).
pub(crate) const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
/// PKCS#12's block size for 3DES and RC2: the IV's length.
const IV_BYTES: usize = 8;

/// `PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }`, read only to name
/// what `pkcs5` refuses.
#[derive(der::Sequence)]
struct Pbes2Names {
    kdf: AlgorithmIdentifierOwned,
    cipher: AlgorithmIdentifierOwned,
}

/// Decrypts `data` encrypted with the scheme `alg` under `password`: the plaintext, its
/// padding removed.
pub(crate) fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    password: &str,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
    let mut buf = Zeroizing::new(data.to_vec());
    let plain_len = if alg.oid == PBES2 {
        pbes2(alg, password, &mut buf)?
    } else if alg.oid == pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC {
        pkcs12_pbe::<des::TdesEde3>(alg, password, 24, &mut buf)?
    } else if alg.oid == pkcs12::PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC {
        pkcs12_pbe::<rc2::Rc2>(alg, password, 16, &mut buf)?
    } else if alg.oid == pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC {
        pkcs12_pbe::<rc2::Rc2>(alg, password, 5, &mut buf)?
    } else {
        return Err(UnsealError::Scheme(alg.oid));
    };
    assert!(
        plain_len < data.len(),
        "CBC padding removed at least one byte ({plain_len} of {} left)",
        data.len()
    );
    buf.truncate(plain_len);
    Ok(buf)
}

/// The key-derivation iterations decrypting with `alg` runs: PBKDF2's count for PBES2, twice
/// the count for PKCS#12's PBE (a key and an IV); 0 for a scheme that is refused unrun.
pub(crate) fn kdf_iterations(alg: &AlgorithmIdentifierOwned) -> u64 {
    if alg.oid == PBES2 {
        let Ok(der) = alg.to_der() else { return 0 };
        return match pkcs5::EncryptionScheme::try_from(der.as_slice()) {
            Ok(pkcs5::EncryptionScheme::Pbes2(p)) => match &p.kdf {
                pkcs5::pbes2::Kdf::Pbkdf2(k) => u64::from(k.iteration_count),
                _ => 0,
            },
            _ => 0,
        };
    }
    let pkcs12_pbe = [
        pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC,
        pkcs12::PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC,
        pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC,
    ];
    if !pkcs12_pbe.contains(&alg.oid) {
        return 0;
    }
    alg.parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pkcs12PbeParams>().ok())
        .and_then(|p| u64::try_from(p.iterations).ok())
        .map_or(0, |n| 2 * n)
}

/// PBES2 in place; the plaintext's length.
fn pbes2(
    alg: &AlgorithmIdentifierOwned,
    password: &str,
    buf: &mut [u8],
) -> Result<usize, UnsealError> {
    let alg_der = alg
        .to_der()
        .map_err(|_| UnsealError::Unsupported("PBES2 parameters".into()))?;
    let scheme = pkcs5::EncryptionScheme::try_from(alg_der.as_slice())
        .map_err(|e| unknown_pbes2(alg, &e))?;
    let pkcs5::EncryptionScheme::Pbes2(params) = &scheme else {
        return Err(UnsealError::Scheme(alg.oid));
    };
    match &params.kdf {
        pkcs5::pbes2::Kdf::Pbkdf2(p) if (1..=ITERATIONS_MAX).contains(&p.iteration_count) => {}
        pkcs5::pbes2::Kdf::Pbkdf2(p) => {
            let n = p.iteration_count;
            return Err(UnsealError::Unsupported(format!("iteration count {n}")));
        }
        _ => return Err(UnsealError::Scheme(pkcs5::pbes2::SCRYPT_OID)),
    }
    // Java's and OpenSSL's PBKDF2 take the password's characters as UTF-8.
    match scheme.decrypt_in_place(password.as_bytes(), buf) {
        Ok(plain) => Ok(plain.len()),
        Err(pkcs5::Error::UnsupportedAlgorithm { oid }) => Err(UnsealError::Scheme(oid)),
        Err(pkcs5::Error::AlgorithmParametersInvalid { oid }) => Err(UnsealError::Unsupported(
            format!("parameters of {oid} in PBES2"),
        )),
        Err(_) => Err(UnsealError::WrongPassword),
    }
}

/// The part of PBES2 `pkcs5` does not read, by its OID: the cipher when the KDF is PBKDF2.
fn unknown_pbes2(alg: &AlgorithmIdentifierOwned, e: &der::Error) -> UnsealError {
    let names = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pbes2Names>().ok());
    match names {
        Some(n) if n.kdf.oid != pkcs5::pbes2::PBKDF2_OID => UnsealError::Scheme(n.kdf.oid),
        Some(n) => UnsealError::Scheme(n.cipher.oid),
        None => UnsealError::Unsupported(format!("PBES2 parameters ({e})")),
    }
}

/// PKCS#12's PBE (RFC 7292 appendix B: its KDF with SHA-1 gives the key and the IV), then
/// the block cipher `C` in CBC mode with a `key_bytes` key, in place; the plaintext's length.
fn pkcs12_pbe<C>(
    alg: &AlgorithmIdentifierOwned,
    password: &str,
    key_bytes: usize,
    buf: &mut [u8],
) -> Result<usize, UnsealError>
where
    C: BlockCipherDecrypt + KeyInit,
{
    let params = alg
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<Pkcs12PbeParams>().ok())
        .ok_or_else(|| UnsealError::Unsupported(format!("PBE parameters of {}", alg.oid)))?;
    let iterations = bounded(params.iterations)?;
    let salt = params.salt.as_bytes();
    let derive = |id, len| {
        derive_key_utf8::<sha1::Sha1>(password, salt, id, iterations, len)
            .map(Zeroizing::new)
            .map_err(|_| UnsealError::Unsupported("a password outside Unicode's BMP".into()))
    };
    let key = derive(Pkcs12KeyType::EncryptionKey, key_bytes)?;
    let iv = derive(Pkcs12KeyType::Iv, IV_BYTES)?;
    assert_eq!(
        (key.len(), iv.len()),
        (key_bytes, IV_BYTES),
        "the KDF gives the lengths asked"
    );
    let dec = cbc::Decryptor::<C>::new_from_slices(&key, &iv)
        .map_err(|_| UnsealError::Unsupported(format!("key length of {}", alg.oid)))?;
    let plain = dec
        .decrypt_padded::<Pkcs7>(buf)
        .map_err(|_| UnsealError::WrongPassword)?;
    Ok(plain.len())
}

/// An iteration count (MAC or KDF) outside `1..=ITERATIONS_MAX`.
#[derive(Debug, thiserror::Error)]
#[error("iteration count {iterations}")]
pub(crate) struct IterationCount {
    /// The count the store gives.
    pub(crate) iterations: i32,
}

impl From<IterationCount> for UnsealError {
    fn from(e: IterationCount) -> Self {
        UnsealError::Unsupported(e.to_string())
    }
}

/// `iterations` when it is within `1..=ITERATIONS_MAX`.
pub(crate) fn bounded(iterations: i32) -> Result<i32, IterationCount> {
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

/// A readable name of an encryption scheme's OID, for messages.
pub(crate) fn scheme_name(oid: &ObjectIdentifier) -> &'static str {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.12.1.1" => "pbeWithSHAAnd128BitRC4",
        "1.2.840.113549.1.12.1.2" => "pbeWithSHAAnd40BitRC4",
        "1.2.840.113549.1.12.1.4" => "pbeWithSHAAnd2-KeyTripleDES-CBC",
        "1.2.840.113549.1.5.3" => "pbeWithMD5AndDES-CBC (PBES1)",
        "1.2.840.113549.1.5.6" => "pbeWithMD5AndRC2-CBC (PBES1)",
        "1.2.840.113549.1.5.10" => "pbeWithSHA1AndDES-CBC (PBES1)",
        "1.2.840.113549.1.5.11" => "pbeWithSHA1AndRC2-CBC (PBES1)",
        "1.3.6.1.4.1.11591.4.11" => "scrypt",
        "1.2.840.113549.2.7" => "PBKDF2 with HMAC-SHA-1",
        "1.3.14.3.2.7" => "DES-CBC",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        "1.2.840.113549.3.2" => "RC2-CBC",
        "1.2.156.10197.1.104.2" => "SM4-CBC",
        _ => "a scheme",
    }
}
