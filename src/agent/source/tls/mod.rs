//! TLS for the TCP syslog sources and the HTTP source (`ssl = true`), on rustls with the
//! `ring` provider through tokio-rustls.
//!
//! Flume reads a Java keystore (`keystore`, `keystore-password`, `keystore-type` = JKS or
//! PKCS12). Sluice reads **PEM**: `keystore` names one file holding the certificate chain
//! (server certificate first) and the unencrypted private key (PKCS#8, PKCS#1 or SEC1). A JKS
//! or PKCS12 keystore is refused with the commands that convert it. Protocols: TLS 1.2 and
//! 1.3 only (Flume's default `exclude-protocols=SSLv3` is implied); `include-protocols` and
//! `exclude-protocols` pick among `TLSv1.2` and `TLSv1.3`.

pub(crate) mod config;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::agent::key_file::{self, KeyFileError};

/// Longest TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS settings of a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// `keystore`: PEM file with the certificate chain and the private key.
    pub keystore: PathBuf,
    /// Offer TLS 1.2.
    pub tls12: bool,
    /// Offer TLS 1.3.
    pub tls13: bool,
}

/// A keystore that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    /// The file cannot be read, is not a regular file, or is too large.
    #[error("keystore {path}: {source}")]
    Read {
        /// The keystore.
        path: PathBuf,
        /// Why.
        source: KeyFileError,
    },
    /// Not PEM (a Java keystore, most likely).
    #[error(
        "keystore {0} is not a PEM file; Sluice does not read JKS or PKCS12 keystores. Convert it: \
         keytool -importkeystore -srckeystore KS.jks -destkeystore ks.p12 -deststoretype PKCS12 && \
         openssl pkcs12 -in ks.p12 -nodes -out ks.pem"
    )]
    NotPem(PathBuf),
    /// No certificate or no key in the file.
    #[error("keystore {path}: {what}")]
    Content {
        /// The keystore.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
}

/// Reads the keystore ([`key_file`]: a regular file of at most
/// [`KEY_FILE_BYTES_MAX`](key_file::KEY_FILE_BYTES_MAX) bytes) and builds the acceptor.
pub(crate) fn acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    acceptor_alpn(cfg, &[])
}

/// [`acceptor`] offering the ALPN protocols `alpn` (the otlp source: `h2` for gRPC, which
/// gRPC clients require, `http/1.1` for HTTP); none when empty.
pub(crate) fn acceptor_alpn(cfg: &TlsConfig, alpn: &[&[u8]]) -> Result<TlsAcceptor, TlsError> {
    let path = cfg.keystore.as_path();
    let pem = key_file::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !pem.windows(10).any(|w| w == b"-----BEGIN") {
        return Err(TlsError::NotPem(path.to_owned()));
    }
    let content = |what: String| TlsError::Content {
        path: path.to_owned(),
        what,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| content(format!("bad certificate: {e}")))?;
    if certs.is_empty() {
        return Err(content("no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| content(format!("no usable unencrypted private key: {e}")))?;
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if cfg.tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if cfg.tls12 {
        versions.push(&rustls::version::TLS12);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| content(format!("protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| content(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests {
    use super::*;

    fn cfg(path: PathBuf) -> TlsConfig {
        TlsConfig {
            keystore: path,
            tls12: true,
            tls13: true,
        }
    }

    #[test]
    fn the_test_keystore_is_accepted_and_bad_ones_are_named() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/net_support/tls");
        assert!(acceptor(&cfg(dir.join("keystore.pem"))).is_ok());
        let err = acceptor(&cfg(dir.join("missing.pem"))).err().unwrap();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        let jks = tmp.path().join("ks.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
        let err = acceptor(&cfg(jks)).err().unwrap();
        assert!(matches!(err, TlsError::NotPem(_)), "{err}");
        let only_ca = dir.join("ca.pem");
        let err = acceptor(&cfg(only_ca)).err().unwrap();
        assert!(err.to_string().contains("private key"), "{err}");
    }
}
