//! rustls configurations of every TLS hop (ring provider, no OpenSSL): a server's from its
//! keystore (the RPC sources, and through [`acceptor`] the http, otlp and syslog TCP
//! sources), a client's from its truststore (or the public web roots, or `trust-all-certs`;
//! the RPC sinks and the otlp sink), both limited to the protocols and cipher suites the keys
//! leave. Every store is read by keystore.rs (PEM or PKCS12), the one reader.
//!
//! What a client verifies: the server's chain up to a trusted root, its validity dates, and
//! (unless `verify-hostname = false`) that it names the `hostname` the sink connects to.
//! `trust-all-certs = true` verifies nothing but the handshake's own signatures.

use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio_rustls::TlsAcceptor;

use super::keystore;
use super::settings::{TlsClientSettings, TlsServerSettings, TlsVersions, Trust};
use super::TransportError;

/// The cipher suites rustls (ring) offers, by their IANA/Java names (`TLS_AES_128_GCM_SHA256`,
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, ...).
pub(crate) fn known_suites() -> Vec<String> {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .iter()
        .map(|s| java_name(s.suite()))
        .collect()
}

/// Java and IANA spell TLS 1.3 suites `TLS_...`; rustls `TLS13_...`.
fn java_name(suite: rustls::CipherSuite) -> String {
    let name = suite
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{suite:?}"));
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

fn provider(suites: &Option<Vec<String>>) -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    if let Some(keep) = suites {
        p.cipher_suites
            .retain(|s| keep.iter().any(|k| *k == java_name(s.suite())));
    }
    Arc::new(p)
}

fn versions(v: TlsVersions) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut out = Vec::new();
    if v.tls13 {
        out.push(&rustls::version::TLS13);
    }
    if v.tls12 {
        out.push(&rustls::version::TLS12);
    }
    out
}

fn tls_err(what: &str, e: rustls::Error) -> TransportError {
    TransportError::Tls(format!("{what}: {e}"))
}

/// The server side: presents the keystore's chain (no ALPN).
pub(crate) fn server_config(s: &TlsServerSettings) -> Result<ServerConfig, TransportError> {
    server_config_alpn(s, &[])
}

/// A listener's acceptor offering the ALPN protocols `alpn` (the otlp source: `h2` for gRPC,
/// which gRPC clients require, `http/1.1` for HTTP); none when empty.
pub(crate) fn acceptor(
    s: &TlsServerSettings,
    alpn: &[&[u8]],
) -> Result<TlsAcceptor, TransportError> {
    Ok(TlsAcceptor::from(std::sync::Arc::new(server_config_alpn(
        s, alpn,
    )?)))
}

fn server_config_alpn(
    s: &TlsServerSettings,
    alpn: &[&[u8]],
) -> Result<ServerConfig, TransportError> {
    let id = keystore::identity(&s.keystore, s.keystore_password.as_deref())?;
    let mut config = ServerConfig::builder_with_provider(provider(&s.suites))
        .with_protocol_versions(&versions(s.versions))
        .map_err(|e| tls_err("protocols and cipher suites", e))?
        .with_no_client_auth()
        .with_single_cert(id.chain, id.key)
        .map_err(|e| tls_err("the keystore's certificate and key", e))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The client side: verifies the server as the settings say.
pub(crate) fn client_config(s: &TlsClientSettings) -> Result<ClientConfig, TransportError> {
    let provider = provider(&s.suites);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(s.versions))
        .map_err(|e| tls_err("protocols and cipher suites", e))?;
    let roots = match &s.trust {
        Trust::AllCerts => {
            let verifier = Arc::new(Lenient {
                chain: None,
                provider,
            });
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth());
        }
        Trust::Public => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            roots
        }
        Trust::Store { path, password } => {
            let mut roots = RootCertStore::empty();
            for cert in keystore::trusted(path, password.as_deref())? {
                roots.add(cert).map_err(|e| {
                    TransportError::Tls(format!("truststore {}: {e}", path.display()))
                })?;
            }
            roots
        }
    };
    if s.verify_hostname {
        return Ok(builder.with_root_certificates(roots).with_no_client_auth());
    }
    let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TransportError::Tls(format!("truststore: {e}")))?;
    let verifier = Lenient {
        chain: Some(chain),
        provider,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// A verifier that accepts more than webpki's: `trust-all-certs = true` (no `chain`: any
/// certificate) or `verify-hostname = false` (the chain and dates verified by `chain`, the
/// name not). Either way the handshake's own signatures are checked, with the provider's
/// algorithms as webpki checks them.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the name last, after the chain and the dates passed.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A handshake error with what the operator can do about it.
pub(crate) fn explain(e: &std::io::Error) -> String {
    let hint = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                " (the server's certificate is not signed by a CA in the truststore)"
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                " (the server's certificate has expired)"
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                " (the certificate does not name the host connected to; fix hostname or the \
                 certificate, or set verify-hostname = false)"
            }
            _ => "",
        },
        Some(rustls::Error::AlertReceived(a)) => match a {
            rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateExpired
            | rustls::AlertDescription::CertificateUnknown => {
                " (the peer refused this side's certificate)"
            }
            rustls::AlertDescription::HandshakeFailure
            | rustls::AlertDescription::ProtocolVersion => {
                " (no protocol or cipher suite in common: check include-/exclude-protocols and \
                 cipher suites on both sides)"
            }
            _ => "",
        },
        Some(rustls::Error::InvalidMessage(_)) => {
            " (the peer does not speak TLS: is ssl = true on both sides?)"
        }
        _ => "",
    };
    format!("{e}{hint}")
}
