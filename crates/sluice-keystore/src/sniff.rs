//! A store file's format from its first bytes: the one sniffer for the core's secret-key
//! stores ([`super::Keystore::parse`]) and the RPC layer's TLS keystores and truststores.
//! Java's two proprietary formats by their magic, PKCS#12 as the DER `SEQUENCE` its `PFX` is,
//! PEM by a `-----BEGIN` line anywhere in the file. Nothing is parsed: the reader of the format
//! found checks the structure.

use super::jceks::{JKS_MAGIC, MAGIC as JCEKS_MAGIC};

/// First byte of a DER SEQUENCE, which a PKCS#12 `PFX` is.
const DER_SEQUENCE: u8 = 0x30;
/// What starts a PEM block.
const PEM_BEGIN: &[u8] = b"-----BEGIN";

/// A store file's format, as its first bytes tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreMagic {
    /// Sun's JCEKS (`CE CE CE CE`).
    Jceks,
    /// Java's JKS (`FE ED FE ED`): certificates and private keys only.
    Jks,
    /// A DER `PFX` (an ASN.1 SEQUENCE): PKCS#12.
    Pkcs12,
    /// Text with `-----BEGIN` blocks.
    Pem,
}

impl StoreMagic {
    /// The format's name as keytool's `-storetype` spells it (`PEM` for PEM).
    pub fn name(self) -> &'static str {
        match self {
            StoreMagic::Jceks => "JCEKS",
            StoreMagic::Jks => "JKS",
            StoreMagic::Pkcs12 => "PKCS12",
            StoreMagic::Pem => "PEM",
        }
    }
}

/// The format of a store whose bytes are `bytes`; `None` when they are none of these.
pub fn sniff(bytes: &[u8]) -> Option<StoreMagic> {
    let magic = bytes
        .get(..4)
        .map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    match (magic, bytes.first()) {
        (Some(JCEKS_MAGIC), _) => Some(StoreMagic::Jceks),
        (Some(JKS_MAGIC), _) => Some(StoreMagic::Jks),
        (_, Some(&DER_SEQUENCE)) => Some(StoreMagic::Pkcs12),
        _ if bytes.windows(PEM_BEGIN.len()).any(|w| w == PEM_BEGIN) => Some(StoreMagic::Pem),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_magics_a_der_sequence_and_pem_text_are_told_apart() {
        assert_eq!(
            sniff(&[0xCE, 0xCE, 0xCE, 0xCE, 0, 0]),
            Some(StoreMagic::Jceks)
        );
        assert_eq!(
            sniff(&[0xFE, 0xED, 0xFE, 0xED, 0, 2]),
            Some(StoreMagic::Jks)
        );
        assert_eq!(sniff(&[0x30, 0x82, 0x0A]), Some(StoreMagic::Pkcs12));
        assert_eq!(sniff(&[0x30]), Some(StoreMagic::Pkcs12));
        let pem = b"Bag Attributes\n-----BEGIN CERTIFICATE-----\nMII=\n";
        assert_eq!(sniff(pem), Some(StoreMagic::Pem));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(&[]), None);
        assert_eq!(sniff(&[0xCE, 0xCE]), None, "a torn magic is no format");
    }
}
