//! Building the `object_store` S3 client of an S3 sink: the `AWS_*` environment first
//! (keys, session token, region, the instance's credential chain when no key is set
//! anywhere; the endpoint variables are left out, [`super::endpoint`] resolved them into
//! the settings already), then the sink's settings over it (`fs.s3a.*` or the plain keys of
//! `type = s3`). Plain `http://` is allowed exactly when the endpoint's scheme is `http`.
//! Every request is bounded by `hdfs.callTimeout`, and so are its
//! retries (5xx, 429, 503 SlowDown; backoff from [`RETRY_BACKOFF_INIT`] doubling to
//! [`RETRY_BACKOFF_MAX`]). SigV4 signs every request's headers; its body only with
//! `hdfs.s3SignPayload = true` (else `UNSIGNED-PAYLOAD`: no SHA-256 of each part, the
//! body's integrity left to TLS, as the AWS SDKs do on HTTPS).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::agent::sink::rolling::config::endpoint;
use crate::agent::sink::rolling::config::s3::S3Config;

/// Retries of one request before it fails.
pub const RETRIES_MAX: usize = 10;
/// First pause before a retry.
pub const RETRY_BACKOFF_INIT: Duration = Duration::from_millis(100);
/// Longest pause between retries.
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest wait for a connection (at most `hdfs.callTimeout`).
pub const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(5);

/// `endpoint` with the bucket as the first label of its host (a virtual-hosted endpoint):
/// `https://s3.example:9000` → `https://logs.s3.example:9000`.
pub fn virtual_hosted(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

/// A builder with the `AWS_*` variables of `vars` (as `AmazonS3Builder::from_env`) but
/// the endpoint ones: `object_store` would let `AWS_ENDPOINT_URL_S3` win over the sink's own
/// `fs.s3a.endpoint`, and take `AWS_ENDPOINT`/`AWS_ENDPOINT_URL` in whatever order the
/// environment lists them.
pub fn from_env_but_the_endpoint(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new();
    for (k, v) in vars {
        let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
            continue;
        };
        if !k.starts_with("AWS_") {
            continue;
        }
        match k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            Ok(AmazonS3ConfigKey::Endpoint | AmazonS3ConfigKey::S3Endpoint) | Err(_) => {}
            Ok(key) => b = b.with_config(key, v),
        }
    }
    b
}

/// The client of `cfg`.
pub fn client(
    cfg: &S3Config,
    call_timeout: Duration,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: RETRY_BACKOFF_INIT,
            max_backoff: RETRY_BACKOFF_MAX,
            base: 2.0,
        },
        max_retries: RETRIES_MAX,
        retry_timeout: call_timeout,
    };
    let http = cfg
        .conn
        .endpoint
        .as_deref()
        .is_some_and(endpoint::is_plain_http);
    let options = ClientOptions::new()
        .with_timeout(call_timeout)
        .with_connect_timeout(call_timeout.min(CONNECT_TIMEOUT_MAX))
        .with_allow_http(http);
    let mut b = from_env_but_the_endpoint(std::env::vars_os())
        .with_bucket_name(&cfg.bucket)
        .with_retry(retry)
        .with_client_options(options)
        .with_virtual_hosted_style_request(!cfg.conn.path_style)
        .with_unsigned_payload(!cfg.sign_payload);
    if let Some(e) = &cfg.conn.endpoint {
        b = if cfg.conn.path_style {
            b.with_endpoint(e)
        } else {
            b.with_endpoint(virtual_hosted(e, &cfg.bucket))
        };
    }
    if let Some(r) = &cfg.conn.region {
        b = b.with_region(r);
    }
    if let (Some(k), Some(s)) = (&cfg.conn.access_key, &cfg.conn.secret_key) {
        b = b.with_access_key_id(k).with_secret_access_key(s);
        if let Some(t) = &cfg.conn.session_token {
            b = b.with_token(t);
        }
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_variables_are_left_to_the_sinks_own_resolution() {
        let vars = [
            ("AWS_ENDPOINT_URL_S3", "http://a:1"),
            ("AWS_ENDPOINT_URL", "http://b:1"),
            ("AWS_ENDPOINT", "http://c:1"),
            ("AWS_REGION", "eu-west-3"),
        ]
        .map(|(k, v)| (std::ffi::OsString::from(k), std::ffi::OsString::from(v)));
        let b = from_env_but_the_endpoint(vars);
        assert_eq!(b.get_config_value(&AmazonS3ConfigKey::Endpoint), None);
        assert_eq!(b.get_config_value(&AmazonS3ConfigKey::S3Endpoint), None);
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-west-3")
        );
    }

    #[test]
    fn a_virtual_hosted_endpoint_puts_the_bucket_first_in_the_host() {
        assert_eq!(
            virtual_hosted("https://s3.example:9000", "logs"),
            "https://logs.s3.example:9000"
        );
    }
}
