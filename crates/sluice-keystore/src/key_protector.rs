//! Sun's JCEKS key protection: a secret key entry is a serialized `SealedObject` whose
//! contents, encrypted with `PBEWithMD5AndTripleDES` (Sun's own scheme: MD5 iterated over
//! each salt half and the password gives a 3DES key and IV), are a serialized
//! `javax.crypto.spec.SecretKeySpec` or `java.security.KeyRep`. The cipher and digest are
//! RustCrypto's; only the scheme's key derivation is written here, as the JDK does it.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use der::Decode;
use md5::{Digest, Md5};
use pkcs12::pbe_params::Pkcs12PbeParams;
use zeroize::Zeroizing;

use super::java_ser::read_stream_object;
use super::java_value::Value;
use super::jceks::Sealed;
use super::reader::Reader;
use super::unsealed::{UnsealError, Unsealed};

/// Largest iteration count accepted, as the JDK's `KeyProtector` (`MAX_ITERATION_COUNT`).
pub(crate) const ITERATIONS_MAX: u32 = 5_000_000;
/// The only sealing algorithm JCEKS uses.
pub(crate) const SEAL_ALGORITHM: &str = "PBEWithMD5AndTripleDES";
const SALT_BYTES: usize = 8;
const KEY_REP_TYPE: &str = "java.security.KeyRep$Type";
const KEY_BYTES: usize = 24;
const IV_BYTES: usize = 8;

/// Opens the `SealedObject` `sealed` with `password`.
pub(crate) fn unseal(sealed: &Sealed, password: &str) -> Result<Unsealed, UnsealError> {
    for alg in [&sealed.seal_alg, &sealed.params_alg] {
        if !alg.eq_ignore_ascii_case(SEAL_ALGORITHM) {
            return Err(UnsealError::Unsupported(format!(
                "key sealing algorithm {alg}"
            )));
        }
    }
    let params = Pkcs12PbeParams::from_der(&sealed.encoded_params)
        .map_err(|_| UnsealError::Unsupported("PBE parameters (not salt and count)".into()))?;
    let salt: [u8; SALT_BYTES] = params
        .salt
        .as_bytes()
        .try_into()
        .map_err(|_| UnsealError::Unsupported("salt length (not 8 bytes)".into()))?;
    let iterations = u32::try_from(params.iterations)
        .ok()
        .filter(|n| (1..=ITERATIONS_MAX).contains(n))
        .ok_or_else(|| {
            UnsealError::Unsupported(format!("iteration count {}", params.iterations))
        })?;
    let password = password_bytes(password)?;
    let secret = derive(&password, salt, iterations);
    assert_eq!(
        secret.len(),
        KEY_BYTES + IV_BYTES,
        "two MD5 digests give the 3DES key and its IV"
    );
    let (key, iv) = secret.split_at(KEY_BYTES);
    let mut buf = Zeroizing::new(sealed.encrypted_content.clone());
    let dec = cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, iv)
        .map_err(|_| UnsealError::Unsupported("3DES key length".into()))?;
    let sealed_bytes = sealed.encrypted_content.len();
    let plain = dec
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| UnsealError::WrongPassword)?;
    assert!(
        plain.len() < sealed_bytes,
        "PKCS#7 padding removed at least one byte of the sealed contents"
    );
    read_key(plain)
}

/// The password as `PBEKey` takes it: printable ASCII only, one byte per character.
fn password_bytes(password: &str) -> Result<Zeroizing<Vec<u8>>, UnsealError> {
    if !password.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
        return Err(UnsealError::PasswordNotAscii);
    }
    Ok(Zeroizing::new(password.as_bytes().to_vec()))
}

/// `PBES1Core.deriveCipherKey` for DESede: 24 key bytes, then 8 IV bytes.
fn derive(password: &[u8], mut salt: [u8; SALT_BYTES], iterations: u32) -> Zeroizing<Vec<u8>> {
    if salt[..4] == salt[4..] {
        // The JDK's loop has a typo (`salt[3-1] = tmp`): [a, b, c, d] becomes [d, a, b, d].
        let [a, b, _, d] = [salt[0], salt[1], salt[2], salt[3]];
        salt[..4].copy_from_slice(&[d, a, b, d]);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(KEY_BYTES + IV_BYTES));
    for half in salt.chunks(SALT_BYTES / 2) {
        let mut digest = Zeroizing::new(half.to_vec());
        for _ in 0..iterations {
            let mut md = Md5::new();
            md.update(&digest[..]);
            md.update(password);
            digest = Zeroizing::new(md.finalize().to_vec());
        }
        out.extend_from_slice(&digest);
    }
    out
}

/// The decrypted contents: a serialized `SecretKeySpec` (fields `key`, `algorithm`) or a
/// `KeyRep` of type `SECRET` and format `RAW` (fields `encoded`, `algorithm`). Contents that
/// do not parse mean the password was wrong (the padding matched by chance).
fn read_key(plain: &[u8]) -> Result<Unsealed, UnsealError> {
    let mut r = Reader::new(plain);
    let value = read_stream_object(&mut r).map_err(|_| UnsealError::WrongPassword)?;
    let obj = value.as_object().ok_or(UnsealError::WrongPassword)?;
    let class = obj.class.name.as_str();
    let bytes = match class {
        "javax.crypto.spec.SecretKeySpec" => obj.bytes("key"),
        "java.security.KeyRep" => {
            let secret = matches!(obj.field("type"),
                Some(Value::Enum { class, name }) if class == KEY_REP_TYPE && name == "SECRET");
            if !secret || obj.string("format") != Some("RAW") {
                return Err(UnsealError::Unsupported(
                    "a KeyRep that is not a raw secret key".into(),
                ));
            }
            obj.bytes("encoded")
        }
        _ => {
            return Err(UnsealError::Unsupported(format!(
                "sealed key class {class}"
            )))
        }
    };
    let (Some(bytes), Some(algorithm)) = (bytes, obj.string("algorithm")) else {
        return Err(UnsealError::Unsupported(format!(
            "a {class} without key bytes or algorithm"
        )));
    };
    Ok(Unsealed {
        algorithm: algorithm.to_owned(),
        bytes: Zeroizing::new(bytes.to_vec()),
    })
}
