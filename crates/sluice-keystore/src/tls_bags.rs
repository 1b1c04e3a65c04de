//! The contents and bags of a PKCS#12 store, read for [`super::tls`]: a `data` content's
//! bags as they are, an `encryptedData` content's after decrypting them ([`super::pbe`]); a
//! `keyBag` or a decrypted `pkcs8ShroudedKeyBag` gives a key, a `certBag` of an X.509
//! certificate gives a certificate, each with its `localKeyId` and `friendlyName`. Other bags
//! (secret keys, CRLs, nested safes) are skipped. Every decryption is charged to the load's
//! [`KdfBudget`] before it runs ([`content_iterations`] tells an encrypted content's cost
//! beforehand).

use der::asn1::{ObjectIdentifier, OctetString};
use der::Decode;
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::safe_bag::{PrivateKeyInfo, SafeContents};
use pkcs12::{CertBag, SafeBag};
use zeroize::Zeroizing;

use super::kdf_budget::{KdfBudget, OverBudget};
use super::pbe;
use super::pkcs12::{data_content, der_fault, friendly_name, ID_DATA};
use super::pkcs12_crypto::{decrypt_shrouded, shrouded_iterations};
use super::reader::Malformed;
use super::tls_store::{TlsCert, TlsKey, TlsStore};
use super::unsealed::UnsealError;

/// `encryptedData` (RFC 5652).
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
/// The `localKeyId` bag attribute (PKCS#9).
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
/// A `certBag` holding an X.509 certificate.
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
/// First byte of a DER SEQUENCE: a certificate and a `PrivateKeyInfo` are one.
const DER_SEQUENCE: u8 = 0x30;

/// Why a content or a bag could not be read, before the store's name is given.
#[derive(Debug)]
pub(crate) enum BagFault {
    /// Its bytes do not follow the format.
    Malformed(Malformed),
    /// It did not decrypt: `part` names what (a content by its index, a key by its name).
    Unseal { part: String, error: UnsealError },
    /// A content type other than `data` and `encryptedData` (public-key encrypted contents).
    ContentType(ObjectIdentifier),
    /// Opening it would pass the load's budget of key-derivation iterations.
    OverBudget(OverBudget),
}

impl From<OverBudget> for BagFault {
    fn from(o: OverBudget) -> Self {
        BagFault::OverBudget(o)
    }
}

/// The key-derivation iterations opening the authenticated safe's content `info` runs: its
/// decryption's when it is `encryptedData`, else none (0 too when it does not parse: it is
/// refused unrun).
pub(crate) fn content_iterations(info: &ContentInfo) -> u64 {
    if info.content_type != ID_ENCRYPTED_DATA {
        return 0;
    }
    info.content.decode_as::<EncryptedData>().map_or(0, |d| {
        pbe::kdf_iterations(&d.enc_content_info.content_enc_alg)
    })
}

impl From<Malformed> for BagFault {
    fn from(m: Malformed) -> Self {
        BagFault::Malformed(m)
    }
}

/// The bags of the authenticated safe's content `index`, decrypted with `password` when it
/// is `encryptedData`.
pub(crate) fn safe_contents(
    info: &ContentInfo,
    index: usize,
    password: &str,
) -> Result<SafeContents, BagFault> {
    if info.content_type == ID_DATA {
        let contents = data_content(&info.content_type, &info.content)
            .ok_or_else(|| Malformed::new(0, format!("content {index}: data is not octets")))?;
        return Ok(SafeContents::from_der(&contents).map_err(|e| der_fault(e, "safe bags"))?);
    }
    if info.content_type != ID_ENCRYPTED_DATA {
        return Err(BagFault::ContentType(info.content_type));
    }
    let part = format!("the store's content {index}");
    let data = info
        .content
        .decode_as::<EncryptedData>()
        .map_err(|e| der_fault(e, "encrypted content"))?;
    let enc = &data.enc_content_info;
    if enc.content_type != ID_DATA {
        return Err(Malformed::new(0, format!("{part} is not data")).into());
    }
    let Some(sealed) = enc.encrypted_content.as_ref() else {
        return Err(Malformed::new(0, format!("{part} has no encrypted bytes")).into());
    };
    let plain =
        pbe::decrypt(&enc.content_enc_alg, password, sealed.as_bytes()).map_err(|error| {
            BagFault::Unseal {
                part: part.clone(),
                error,
            }
        })?;
    // Bytes that decrypt with valid padding but do not parse: the password was wrong.
    SafeContents::from_der(&plain).map_err(|_| BagFault::Unseal {
        part,
        error: UnsealError::WrongPassword,
    })
}

/// Adds the key or certificate `bag` holds to `store`, a shrouded key's decryption charged to
/// `budget` first; other bags are skipped.
pub(crate) fn collect(
    bag: &SafeBag,
    password: &str,
    store: &mut TlsStore,
    budget: &mut KdfBudget,
) -> Result<(), BagFault> {
    let value = der::Any::from_der(&bag.bag_value).map_err(|e| der_fault(e, "bag value"))?;
    let inner = value.value();
    let local_key_id = local_key_id(bag)?;
    let name = friendly_name(bag);
    let (keys, certs) = (store.keys.len(), store.certs.len());
    if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
        let part = name
            .as_ref()
            .map_or_else(|| format!("key {}", keys + 1), |n| format!("key {n:?}"));
        budget.charge(shrouded_iterations(inner))?;
        let pkcs8_der =
            decrypt_shrouded(inner, password).map_err(|error| BagFault::Unseal { part, error })?;
        store.keys.push(TlsKey {
            pkcs8_der,
            local_key_id,
            friendly_name: name,
        });
    } else if bag.bag_id == pkcs12::PKCS_12_KEY_BAG_OID {
        PrivateKeyInfo::from_der(inner).map_err(|e| der_fault(e, "key bag"))?;
        store.keys.push(TlsKey {
            pkcs8_der: Zeroizing::new(inner.to_vec()),
            local_key_id,
            friendly_name: name,
        });
    } else if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID {
        let cert = CertBag::from_der(inner).map_err(|e| der_fault(e, "certificate bag"))?;
        if cert.cert_id != X509_CERTIFICATE {
            return Ok(()); // an SDSI certificate: not for TLS
        }
        let der = cert.cert_value.as_bytes();
        if der.first() != Some(&DER_SEQUENCE) {
            return Err(Malformed::new(0, "certificate bag: not a DER certificate").into());
        }
        store.certs.push(TlsCert {
            der: der.to_vec(),
            local_key_id,
            friendly_name: name,
        });
    }
    assert!(
        store.keys.len() + store.certs.len() <= keys + certs + 1,
        "one bag adds at most one key or certificate"
    );
    Ok(())
}

/// The bag's `localKeyId` (an OCTET STRING), if it has one.
fn local_key_id(bag: &SafeBag) -> Result<Option<Vec<u8>>, Malformed> {
    let Some(attrs) = bag.bag_attributes.as_ref() else {
        return Ok(None);
    };
    let Some(attr) = attrs.iter().find(|a| a.oid == LOCAL_KEY_ID) else {
        return Ok(None);
    };
    let Some(value) = attr.values.iter().next() else {
        return Err(Malformed::new(0, "localKeyId without a value"));
    };
    let id = value
        .decode_as::<OctetString>()
        .map_err(|e| der_fault(e, "localKeyId"))?;
    Ok(Some(id.as_bytes().to_vec()))
}
