//! The JCEKS container (Sun's `JceKeyStore`): magic `0xCECECECE`, version, entry count, the
//! entries (private keys, trusted certificates, secret keys sealed as Java-serialized
//! `SealedObject`s), then a SHA-1 digest over the password (UTF-16BE), the words "Mighty
//! Aphrodite" and every byte before the digest. Parsing is pure and checks structure only;
//! [`Jceks::verify`] checks the digest against a password.

use sha1::{Digest, Sha1};

use super::error::EntryKind;
use super::java_ser::read_stream_object;
use super::reader::{Malformed, Reader};

/// First four bytes of a JCEKS store.
pub(crate) const MAGIC: u32 = 0xCECE_CECE;
/// First four bytes of a JKS store (which cannot hold secret keys).
pub(crate) const JKS_MAGIC: u32 = 0xFEED_FEED;
const DIGEST_BYTES: usize = 20;
const SALT_WORDS: &[u8] = b"Mighty Aphrodite";
const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;
const TAG_SECRET_KEY: u32 = 3;

/// A secret key entry's `SealedObject`, its fields as read.
#[derive(Debug, Default)]
pub(crate) struct Sealed {
    pub(crate) seal_alg: String,
    pub(crate) params_alg: String,
    pub(crate) encoded_params: Vec<u8>,
    pub(crate) encrypted_content: Vec<u8>,
}

/// One entry.
#[derive(Debug)]
pub(crate) struct JceksEntry {
    pub(crate) alias: String,
    pub(crate) kind: EntryKind,
    pub(crate) sealed: Option<Sealed>,
}

/// A parsed JCEKS store.
#[derive(Debug)]
pub(crate) struct Jceks {
    pub(crate) entries: Vec<JceksEntry>,
    /// Everything before the digest.
    signed: Vec<u8>,
    digest: [u8; DIGEST_BYTES],
}

impl Jceks {
    /// Parses `bytes`, which start with [`MAGIC`].
    pub(crate) fn parse(bytes: &[u8]) -> Result<Jceks, Malformed> {
        let mut r = Reader::new(bytes);
        if r.u32("magic")? != MAGIC {
            return Err(Malformed::new(0, "not a JCEKS store"));
        }
        let version = r.u32("version")?;
        if !(1..=2).contains(&version) {
            return Err(Malformed::new(
                4,
                format!("unknown JCEKS version {version}"),
            ));
        }
        let count = r.u32("entry count")?;
        let mut entries = Vec::new();
        for _ in 0..count {
            entries.push(entry(&mut r, version)?);
        }
        assert_eq!(
            entries.len() as u64,
            u64::from(count),
            "one entry per count"
        );
        let signed = bytes.get(..r.pos()).unwrap_or(&[]).to_vec();
        let mut digest = [0u8; DIGEST_BYTES];
        digest.copy_from_slice(r.take(DIGEST_BYTES, "integrity digest")?);
        if r.remaining() != 0 {
            return Err(r.fault("bytes after the integrity digest"));
        }
        assert_eq!(
            signed.len() + DIGEST_BYTES,
            bytes.len(),
            "the digest signs every byte before it and ends the store"
        );
        Ok(Jceks {
            entries,
            signed,
            digest,
        })
    }

    /// Whether the store's digest matches `password`.
    pub(crate) fn verify(&self, password: &str) -> bool {
        let mut md = Sha1::new();
        for unit in password.encode_utf16() {
            md.update(unit.to_be_bytes());
        }
        md.update(SALT_WORDS);
        md.update(&self.signed);
        md.finalize().as_slice() == self.digest
    }
}

fn entry(r: &mut Reader<'_>, version: u32) -> Result<JceksEntry, Malformed> {
    let at = r.pos();
    let tag = r.u32("entry tag")?;
    let alias = r.utf("alias")?;
    r.u64("entry date")?;
    let (kind, sealed) = match tag {
        TAG_PRIVATE_KEY => {
            let n = r.len_u32("protected key length")?;
            r.take(n, "protected key")?;
            let chain = r.u32("certificate chain length")?;
            for _ in 0..chain {
                certificate(r, version)?;
            }
            (EntryKind::PrivateKey, None)
        }
        TAG_TRUSTED_CERT => {
            certificate(r, version)?;
            (EntryKind::TrustedCert, None)
        }
        TAG_SECRET_KEY if version == 2 => (EntryKind::SecretKey, Some(sealed(r)?)),
        _ => return Err(Malformed::new(at, format!("unknown entry tag {tag}"))),
    };
    assert!(r.pos() > at, "an entry read consumes its bytes");
    Ok(JceksEntry {
        alias,
        kind,
        sealed,
    })
}

fn certificate(r: &mut Reader<'_>, version: u32) -> Result<(), Malformed> {
    if version == 2 {
        r.utf("certificate type")?;
    }
    let n = r.len_u32("certificate length")?;
    r.take(n, "certificate")?;
    Ok(())
}

/// The serialized `SealedObject` (its own stream, header included).
fn sealed(r: &mut Reader<'_>) -> Result<Sealed, Malformed> {
    let at = r.pos();
    let value = read_stream_object(r)?;
    let obj = value
        .as_object()
        .ok_or_else(|| Malformed::new(at, "sealed key is not an object"))?;
    let missing = |field: &str| Malformed::new(at, format!("sealed key has no {field}"));
    Ok(Sealed {
        seal_alg: obj
            .string("sealAlg")
            .ok_or_else(|| missing("sealAlg"))?
            .to_owned(),
        params_alg: obj.string("paramsAlg").unwrap_or_default().to_owned(),
        encoded_params: obj.bytes("encodedParams").unwrap_or_default().to_vec(),
        encrypted_content: obj
            .bytes("encryptedContent")
            .ok_or_else(|| missing("encryptedContent"))?
            .to_vec(),
    })
}
