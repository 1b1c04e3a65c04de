//! Building the `object_store` S3 client of an S3 sink: the `AWS_*` environment first
//! (`AmazonS3Builder::from_env`: keys, session token, region, the instance's credential
//! chain when no key is set anywhere), then the sink's settings over it (`fs.s3a.*` or the
//! plain keys of `type = s3`). Every request is bounded by `hdfs.callTimeout`, and so are its
//! retries (5xx, 429, 503 SlowDown; backoff from [`RETRY_BACKOFF_INIT`] doubling to
//! [`RETRY_BACKOFF_MAX`]). SigV4 signs every request's headers; its body only with
//! `hdfs.s3SignPayload = true` (else `UNSIGNED-PAYLOAD`: no SHA-256 of each part, the
//! body's integrity left to TLS, as the AWS SDKs do on HTTPS).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::config::S3Config;

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
        .endpoint
        .as_deref()
        .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"));
    let options = ClientOptions::new()
        .with_timeout(call_timeout)
        .with_connect_timeout(call_timeout.min(CONNECT_TIMEOUT_MAX))
        .with_allow_http(http);
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&cfg.bucket)
        .with_retry(retry)
        .with_client_options(options)
        .with_virtual_hosted_style_request(!cfg.path_style)
        .with_unsigned_payload(!cfg.sign_payload);
    if let Some(e) = &cfg.endpoint {
        b = if cfg.path_style {
            b.with_endpoint(e)
        } else {
            b.with_endpoint(virtual_hosted(e, &cfg.bucket))
        };
    }
    if let Some(r) = &cfg.region {
        b = b.with_region(r);
    }
    if let (Some(k), Some(s)) = (&cfg.access_key, &cfg.secret_key) {
        b = b.with_access_key_id(k).with_secret_access_key(s);
        if let Some(t) = &cfg.session_token {
            b = b.with_token(t);
        }
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_hosted_endpoint_puts_the_bucket_first_in_the_host() {
        assert_eq!(
            virtual_hosted("https://s3.example:9000", "logs"),
            "https://logs.s3.example:9000"
        );
    }
}
