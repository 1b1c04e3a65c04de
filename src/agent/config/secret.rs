//! Which keys hold secrets, so that `sluice config check --print` shows them masked: a last
//! key segment naming a password, secret, token or credential, or ending in `key` (an API,
//! access or private key; header-name keys such as `fileHeaderKey` excepted).

/// What a masked value is printed as.
pub const MASK: &str = "********";

/// Whether the value of `key` is a secret.
pub fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    let named = ["password", "passwd", "secret", "token", "credential"]
        .iter()
        .any(|w| last.contains(w));
    let key_material = last.ends_with("key") && !last.ends_with("headerkey");
    named || key_material
}

#[cfg(test)]
mod tests {
    use super::is_secret;

    #[test]
    fn passwords_tokens_and_keys_are_secrets_and_paths_are_not() {
        for k in [
            "a1.sinks.k1.ssl.keystore.password",
            "a1.sources.r1.keystorePassword",
            "a1.sinks.k1.kafka.producer.sasl.jaas.secret",
            "a1.sinks.k1.token",
            "a1.sinks.k1.privateKey",
            "a1.sinks.k1.accessKey",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in [
            "a1.sinks.k1.ssl.keystore",
            "a1.sources.r1.fileHeaderKey",
            "a1.channels.c1.checkpointDir",
            "a1.sources.r1.keystoreType",
        ] {
            assert!(!is_secret(k), "{k}");
        }
    }
}
