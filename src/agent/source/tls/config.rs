//! The TLS keys of the syslog TCP and HTTP sources: Flume's `ssl`, `keystore*` and protocol
//! keys mapped onto a PEM keystore (see [`super`]).

use std::path::PathBuf;

use super::TlsConfig;
use crate::agent::config::Ctx;

/// `ssl` (or Flume's older `enableSSL`) and the keystore and protocol keys; `None` = no TLS.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<TlsConfig> {
    let ssl = cx.bool("ssl", false) | cx.bool("enableSSL", false);
    if !ssl {
        for p in ["keystore", "exclude-", "include-"] {
            cx.use_prefix(p);
        }
        return None;
    }
    let keystore = keystore(cx);
    let (tls12, tls13) = protocols(cx);
    let cfg = TlsConfig {
        keystore: PathBuf::from(keystore?),
        tls12,
        tls13,
    };
    // Read the keystore now, so a bad one is reported with its line (and by `config check`).
    if tls12 || tls13 {
        if let Err(e) = super::acceptor(&cfg) {
            cx.error("keystore", e.to_string());
        }
    }
    Some(cfg)
}

/// `keystore` (required, a PEM file); its type must be PEM, and the password and cipher-suite
/// keys are warned about as ignored.
fn keystore(cx: &mut Ctx<'_>) -> Option<String> {
    let keystore = cx.required("keystore");
    if let Some(t) = cx.get("keystore-type") {
        if !t.trim().eq_ignore_ascii_case("PEM") {
            cx.error(
                "keystore-type",
                format!(
                    "keystore type {t:?} is not supported: Sluice reads a PEM file with the \
                     certificate chain and the unencrypted private key (keystore-type = PEM). \
                     Convert: keytool -importkeystore -srckeystore KS -destkeystore ks.p12 \
                     -deststoretype PKCS12 && openssl pkcs12 -in ks.p12 -nodes -out ks.pem"
                ),
            );
        }
    }
    for k in ["keystore-password", "keystorePassword"] {
        if cx.get(k).is_some() {
            cx.warn(
                k,
                "ignored: the private key in the PEM keystore is not encrypted",
            );
        }
    }
    for k in ["exclude-cipher-suites", "include-cipher-suites"] {
        if cx.get(k).is_some() {
            cx.warn(k, "ignored: rustls offers only its own safe cipher suites");
        }
    }
    keystore
}

/// Whether TLSv1.2 and TLSv1.3 are offered, after `include-protocols` and
/// `exclude-protocols`; offering neither is an error.
fn protocols(cx: &mut Ctx<'_>) -> (bool, bool) {
    let list = |v: Option<String>| -> Vec<String> {
        v.unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let include = list(cx.get("include-protocols"));
    let exclude = list(cx.get("exclude-protocols"));
    let offered = |name: &str| {
        (include.is_empty() || include.iter().any(|p| p == name))
            && !exclude.iter().any(|p| p == name)
    };
    let (tls12, tls13) = (offered("TLSv1.2"), offered("TLSv1.3"));
    if !tls12 && !tls13 {
        let key = if include.is_empty() {
            "exclude-protocols"
        } else {
            "include-protocols"
        };
        cx.error(
            key,
            "no protocol left to offer; Sluice offers TLSv1.2 and TLSv1.3",
        );
    }
    (tls12, tls13)
}
