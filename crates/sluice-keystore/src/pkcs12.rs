//! PKCS#12 keystores (RFC 7292) as keytool writes them: the authenticated safe's plain
//! `data` contents hold one bag per key (secret keys in `secretBag`s wrapping a shrouded
//! PKCS#8 key), named by their `friendlyName`; the store's integrity is an HMAC over the
//! authenticated safe ([`super::pkcs12_crypto`]). Contents encrypted as a whole (keytool puts
//! certificates there) are not opened: their entries are not listed.

use der::asn1::{BmpString, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::SafeContents;
use pkcs12::MacData;

use super::error::EntryKind;
use super::reader::Malformed;

pub(crate) const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const ORACLE_TRUSTED_KEY_USAGE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113894.746875.1.1");

/// `SecretBag ::= SEQUENCE { secretTypeId OID, secretValue [0] EXPLICIT ANY }`; keytool's
/// value is an `EncryptedPrivateKeyInfo` in an OCTET STRING.
#[derive(der::Sequence)]
struct SecretBag {
    secret_type_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    secret_value: OctetString,
}

/// One named entry of a PKCS#12 store.
#[derive(Debug)]
pub(crate) struct P12Entry {
    pub(crate) alias: String,
    pub(crate) kind: EntryKind,
    /// A secret key's `EncryptedPrivateKeyInfo`, DER.
    pub(crate) shrouded: Option<Vec<u8>>,
}

/// A parsed PKCS#12 store.
#[derive(Debug)]
pub(crate) struct Pkcs12 {
    pub(crate) entries: Vec<P12Entry>,
    pub(crate) mac: Option<MacData>,
    /// The authenticated safe's bytes: what the MAC covers.
    pub(crate) auth_safe: Vec<u8>,
}

pub(crate) fn der_fault(e: der::Error, what: &str) -> Malformed {
    let offset = e.position().map(|p| u32::from(p) as usize).unwrap_or(0);
    Malformed::new(offset, format!("{what}: {e}"))
}

/// A PFX opened as far as it goes without a password: the authenticated safe's bytes (what the
/// MAC covers), its `ContentInfo`s and the MAC.
pub(crate) struct Pfx12 {
    pub(crate) auth_safe: Vec<u8>,
    pub(crate) infos: Vec<ContentInfo>,
    pub(crate) mac: Option<MacData>,
}

/// Opens a PFX (version 3, a plain `data` authenticated safe) and lists its contents; the
/// one parse both PKCS#12 readers (secret keys here, TLS material in [`super::tls`]) start
/// from.
pub(crate) fn open_pfx(bytes: &[u8]) -> Result<Pfx12, Malformed> {
    let pfx = Pfx::from_der(bytes).map_err(|e| der_fault(e, "PFX"))?;
    if pfx.version != Version::V3 {
        return Err(Malformed::new(0, "PFX version is not 3"));
    }
    let auth_safe = data_content(&pfx.auth_safe.content_type, &pfx.auth_safe.content)
        .ok_or_else(|| Malformed::new(0, "authenticated safe is not plain data"))?;
    let infos =
        Vec::<ContentInfo>::from_der(&auth_safe).map_err(|e| der_fault(e, "authenticated safe"))?;
    assert!(
        auth_safe.len() < bytes.len(),
        "the authenticated safe lies within the PFX"
    );
    Ok(Pfx12 {
        auth_safe,
        infos,
        mac: pfx.mac_data,
    })
}

/// Parses the store's structure; nothing is decrypted or checked against a password.
pub(crate) fn parse(bytes: &[u8]) -> Result<Pkcs12, Malformed> {
    let Pfx12 {
        auth_safe,
        infos,
        mac,
    } = open_pfx(bytes)?;
    let mut entries = Vec::new();
    for info in infos {
        let Some(contents) = data_content(&info.content_type, &info.content) else {
            continue; // encrypted contents: certificates, never secret keys from keytool
        };
        let bags = SafeContents::from_der(&contents).map_err(|e| der_fault(e, "safe bags"))?;
        for bag in bags {
            if let Some(entry) = entry(&bag)? {
                entries.push(entry);
            }
        }
    }
    Ok(Pkcs12 {
        entries,
        mac,
        auth_safe,
    })
}

/// The octets of a `data` content, `None` for any other content type.
pub(crate) fn data_content(content_type: &ObjectIdentifier, content: &der::Any) -> Option<Vec<u8>> {
    if *content_type != ID_DATA {
        return None;
    }
    let octets = content.decode_as::<OctetString>().ok()?;
    Some(octets.as_bytes().to_vec())
}

fn entry(bag: &pkcs12::SafeBag) -> Result<Option<P12Entry>, Malformed> {
    let Some(alias) = friendly_name(bag) else {
        return Ok(None); // a chain's certificate, not an entry of its own
    };
    let value = der::Any::from_der(&bag.bag_value).map_err(|e| der_fault(e, "bag value"))?;
    let (kind, shrouded) = if bag.bag_id == pkcs12::PKCS_12_SECRET_BAG_OID {
        let secret = SecretBag::from_der(value.value()).map_err(|e| der_fault(e, "secret bag"))?;
        if secret.secret_type_id != pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
            return Err(Malformed::new(0, "secret bag of an unknown type"));
        }
        let bytes = secret.secret_value.as_bytes().to_vec();
        (EntryKind::SecretKey, Some(bytes))
    } else if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID
        || bag.bag_id == pkcs12::PKCS_12_KEY_BAG_OID
    {
        (EntryKind::PrivateKey, None)
    } else if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID && has(bag, ORACLE_TRUSTED_KEY_USAGE) {
        (EntryKind::TrustedCert, None)
    } else {
        return Ok(None);
    };
    assert_eq!(
        shrouded.is_some(),
        kind == EntryKind::SecretKey,
        "only a secret key entry carries a shrouded key"
    );
    Ok(Some(P12Entry {
        alias,
        kind,
        shrouded,
    }))
}

fn has(bag: &pkcs12::SafeBag, oid: ObjectIdentifier) -> bool {
    let attrs = bag.bag_attributes.as_ref();
    attrs.is_some_and(|a| a.iter().any(|a| a.oid == oid))
}

pub(crate) fn friendly_name(bag: &pkcs12::SafeBag) -> Option<String> {
    let attrs = bag.bag_attributes.as_ref()?;
    let attr = attrs.iter().find(|a| a.oid == FRIENDLY_NAME)?;
    let value = attr.values.iter().next()?;
    let der = value.to_der().ok()?;
    BmpString::from_der(&der).ok().map(|s| s.to_string())
}
