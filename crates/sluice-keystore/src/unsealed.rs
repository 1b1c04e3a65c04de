//! What opening a protected key gives ([`Unsealed`]) or why it failed ([`UnsealError`]): the
//! leaf shared by the JCEKS and PKCS#12 key decryption.

use zeroize::Zeroizing;

/// Why a protected key could not be opened.
#[derive(Debug)]
pub(crate) enum UnsealError {
    /// The algorithm or its parameters are not supported (named).
    Unsupported(String),
    /// An encryption scheme (a PBE, or PBES2's KDF or cipher) not read, by its OID.
    Scheme(der::asn1::ObjectIdentifier),
    /// Padding or contents wrong after decryption: the key password is wrong.
    WrongPassword,
    /// The key password has characters Java's `PBEKey` refuses (JCEKS only).
    PasswordNotAscii,
}

/// A recovered key: its algorithm name and encoded bytes.
#[derive(Debug)]
pub(crate) struct Unsealed {
    pub(crate) algorithm: String,
    pub(crate) bytes: Zeroizing<Vec<u8>>,
}
