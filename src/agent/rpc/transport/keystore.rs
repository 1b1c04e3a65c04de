//! Reading Flume's `keystore` (a certificate chain and its private key) and `truststore`
//! (certificates to trust) files. The file's content decides its format, whatever
//! `keystore-type` says:
//! - **PEM**: CERTIFICATE blocks and, in a keystore, one unencrypted private key (PKCS#8,
//!   PKCS#1 or SEC1);
//! - **PKCS12** (what `keytool` writes since Java 9 and `openssl pkcs12 -export` writes),
//!   read directly with the password (`keystore-password`, `truststore-password`) by the
//!   one PKCS12 reader, [`sluice_keystore::tls`]; the keystore's first private key
//!   and the certificate with its local key id lead the chain;
//! - **JKS / JCEKS** (Java's proprietary formats): refused with the exact `keytool` command
//!   that converts the file to PKCS12.
//!
//! The format is told by the one store sniffer, [`sluice_keystore::sniff`] (the
//! same that picks the reader of Flume's secret-key stores); PKCS12 stores are read by the
//! same PFX parse, MAC check and decryption as those stores, within the reader's budget of
//! key-derivation iterations per load (`KDF_ITERATIONS_BUDGET`: a store past it is refused,
//! named).
//!
//! A store is read off the async workers ([`off_workers`]): its key derivation may take
//! seconds, and the agent runs one worker per CPU less one (one on 2 CPUs), so a source
//! loading its keystore at start (or a sink its truststore at connect) would stall every
//! other source and sink meanwhile (issue 87: a netcat source beside it answered nothing).

use std::path::{Path, PathBuf};

use sluice_keystore::tls::{read_pkcs12_named, TlsStore};
use sluice_keystore::{sniff, KeystoreError, StoreMagic};

use crate::agent::key_file::{self, KeyFileError};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Largest keystore or truststore file read ([`key_file`]: regular files only).
pub(crate) const STORE_BYTES_MAX: u64 = key_file::KEY_FILE_BYTES_MAX;

/// A keystore or truststore that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be read, is not a regular file, or is too large.
    #[error("{what} {path}: {source}")]
    Read {
        /// `keystore` or `truststore`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: KeyFileError,
    },
    /// A Java keystore: the command that converts it.
    #[error(
        "{what} {path} is a {kind} store, which Sluice does not read; convert it to PKCS12 \
         (Sluice reads that directly, with the same password): keytool -importkeystore \
         -srckeystore {path} -srcstoretype {kind} -destkeystore {dest} -deststoretype PKCS12 \
         and set {what} = {dest} and {what}-type = PKCS12"
    )]
    Java {
        /// `keystore` or `truststore`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// `JKS` or `JCEKS`.
        kind: &'static str,
        /// A suggested name for the converted file.
        dest: String,
    },
    /// Neither PEM nor PKCS12.
    #[error("{what} {path}: not a PEM or PKCS12 file")]
    Unknown {
        /// `keystore` or `truststore`.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// Readable, but not usable: wrong password, no key, no certificate, ...
    #[error("{what} {path}: {reason}")]
    Content {
        /// `keystore` or `truststore`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A certificate chain (leaf first) and its private key.
#[derive(Debug)]
pub(crate) struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's key.
    pub key: PrivateKeyDer<'static>,
}

/// The bytes of a PEM or PKCS12 store and which of the two it is; Java's stores refused.
fn read(what: &'static str, path: &Path) -> Result<(Vec<u8>, StoreMagic), StoreError> {
    let bytes =
        key_file::read_at_most(path, STORE_BYTES_MAX).map_err(|source| StoreError::Read {
            what,
            path: path.to_owned(),
            source,
        })?;
    match sniff(&bytes) {
        Some(m @ (StoreMagic::Jks | StoreMagic::Jceks)) => Err(java(what, path, m.name())),
        Some(m @ (StoreMagic::Pem | StoreMagic::Pkcs12)) => Ok((bytes, m)),
        _ => Err(StoreError::Unknown {
            what,
            path: path.to_owned(),
        }),
    }
}

fn java(what: &'static str, path: &Path, kind: &'static str) -> StoreError {
    let dest = path.with_extension("p12").display().to_string();
    StoreError::Java {
        what,
        path: path.to_owned(),
        kind,
        dest,
    }
}

fn content(what: &'static str, path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Content {
        what,
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Runs `load` without holding an async worker: on a worker of the multi-threaded runtime,
/// tokio's `block_in_place` first hands the worker's queued tasks (the other sources') to a
/// new worker thread; elsewhere (a blocking-pool thread, `config check`, a current-thread
/// runtime) it runs as it is.
fn off_workers<T>(load: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(load)
        }
        _ => load(),
    }
}

fn pkcs12(
    what: &'static str,
    path: &Path,
    bytes: &[u8],
    password: &str,
) -> Result<TlsStore, StoreError> {
    let name = path.display().to_string();
    read_pkcs12_named(&name, bytes, password).map_err(|e| {
        let reason = match &e {
            KeystoreError::KdfBudget { budget, needed, .. } => format!(
                "cannot open the PKCS12 file: it takes at least {needed} key-derivation \
                 iterations, more than the {budget} one store may cost (KDF_ITERATIONS_BUDGET; \
                 keytool's and openssl's own stores take under 100,000): too many encrypted \
                 bags or too high iteration counts; re-export it with the tools' defaults"
            ),
            KeystoreError::UnsupportedScheme {
                part, scheme, oid, ..
            } => format!(
                "cannot open the PKCS12 file ({part} is encrypted with {scheme}, OID {oid}, \
                 which Sluice does not read); re-export it with PBES2 and AES (openssl pkcs12 \
                 -export without -legacy, or keytool -importkeystore of JDK 12 or later)"
            ),
            _ => format!(
                "cannot open the PKCS12 file ({}); is {what}-password right?",
                detail(&e)
            ),
        };
        content(what, path, reason)
    })
}

/// What the core's reader found wrong, without the store's name (the message names the
/// file once).
fn detail(e: &KeystoreError) -> String {
    match e {
        KeystoreError::StorePassword { .. } => {
            "wrong password, or the file is damaged: its integrity check failed".to_owned()
        }
        KeystoreError::Corrupt { offset, reason, .. } => {
            format!("corrupt or truncated at byte {offset}: {reason}")
        }
        KeystoreError::Unsupported { what, .. } => format!("unsupported {what}"),
        other => other.to_string(),
    }
}

/// Reads a keystore: the certificate chain and private key a server presents (off the async
/// workers).
pub(crate) fn identity(path: &Path, password: Option<&str>) -> Result<Identity, StoreError> {
    off_workers(|| read_identity(path, password))
}

fn read_identity(path: &Path, password: Option<&str>) -> Result<Identity, StoreError> {
    const WHAT: &str = "keystore";
    let (bytes, format) = read(WHAT, path)?;
    if format == StoreMagic::Pem {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| content(WHAT, path, format!("bad certificate: {e}")))?;
        if chain.is_empty() {
            return Err(content(WHAT, path, "no CERTIFICATE block"));
        }
        let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
            content(
                WHAT,
                path,
                format!("no usable unencrypted private key: {e}"),
            )
        })?;
        return Ok(Identity { chain, key });
    }
    let store = pkcs12(WHAT, path, &bytes, password.unwrap_or_default())?;
    let Some(key) = store.keys().first() else {
        return Err(content(WHAT, path, "the PKCS12 file holds no private key"));
    };
    let chain: Vec<CertificateDer<'static>> = store
        .chain(key)
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    if chain.is_empty() {
        return Err(content(WHAT, path, "the PKCS12 file holds no certificate"));
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec()));
    Ok(Identity { chain, key })
}

/// Reads a truststore: every certificate in it is a trusted root (off the async workers).
pub(crate) fn trusted(
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    off_workers(|| read_trusted(path, password))
}

fn read_trusted(
    path: &Path,
    password: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    const WHAT: &str = "truststore";
    let (bytes, format) = read(WHAT, path)?;
    let certs: Vec<CertificateDer<'static>> = if format == StoreMagic::Pem {
        CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| content(WHAT, path, format!("bad certificate: {e}")))?
    } else {
        pkcs12(WHAT, path, &bytes, password.unwrap_or_default())?
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.der().to_vec()))
            .collect()
    };
    if certs.is_empty() {
        return Err(content(WHAT, path, "no certificate in it"));
    }
    Ok(certs)
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests {
    use super::*;

    #[test]
    fn java_stores_are_refused_with_the_keytool_command() {
        let tmp = tempfile::tempdir().unwrap();
        let jks = tmp.path().join("server.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
        let e = identity(&jks, Some("pw")).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, StoreError::Java { kind: "JKS", .. }), "{text}");
        let want = format!(
            "keytool -importkeystore -srckeystore {} -srcstoretype JKS -destkeystore {} \
             -deststoretype PKCS12",
            jks.display(),
            tmp.path().join("server.p12").display()
        );
        assert!(text.contains(&want), "{text}");
        std::fs::write(&jks, [0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2]).unwrap();
        let e = trusted(&jks, None).unwrap_err();
        assert!(e.to_string().contains("-srcstoretype JCEKS"), "{e}");
    }

    #[test]
    fn the_pem_test_keystore_reads_and_bad_files_are_named() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/net_support/tls");
        let id = identity(&dir.join("keystore.pem"), None).unwrap();
        assert!(!id.chain.is_empty());
        assert_eq!(trusted(&dir.join("ca.pem"), None).unwrap().len(), 1);
        let e = identity(&dir.join("ca.pem"), None).unwrap_err();
        assert!(e.to_string().contains("private key"), "{e}");
        let e = identity(&dir.join("missing.pem"), None).unwrap_err();
        assert!(matches!(e, StoreError::Read { .. }), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let junk = tmp.path().join("junk");
        std::fs::write(&junk, b"hello").unwrap();
        let e = trusted(&junk, None).unwrap_err();
        assert!(matches!(e, StoreError::Unknown { .. }), "{e}");
        let p12 = tmp.path().join("bad.p12");
        std::fs::write(&p12, [0x30, 0x03, 0x02, 0x01, 0x03]).unwrap();
        let e = identity(&p12, Some("pw")).unwrap_err();
        assert!(e.to_string().contains("keystore-password"), "{e}");
    }
}
