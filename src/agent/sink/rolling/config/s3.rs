//! The settings of an `hdfs` sink that writes to an S3 or S3-compatible store
//! (`hdfs.path = s3a://BUCKET/prefix/...` or `s3://...`): the bucket, where the store is and
//! how to sign for it, and where open files are staged on local disk.
//!
//! Endpoint, credentials, region and path-style access come from the `fs.s3a.*` keys of the
//! `core-site.xml` in `hdfs.hdfsConfigDir` (else `HADOOP_CONF_DIR`), as Hadoop's S3A reads
//! them; what is not set there comes from the `AWS_*` environment and, for credentials, the
//! instance's credential chain (`object_store`'s). `type = s3` sets the same through plain
//! keys ([`super::plain`]), given to [`parse`] as a [`Connection`].

use std::path::PathBuf;

use super::core_site::read_s3a_keys;
use super::endpoint::{self, EndpointFrom};
use crate::agent::config::ctx::Ctx;
use crate::agent::sink::rolling::config::remote::HADOOP_CONF_DIR_ENV;

/// Default `hdfs.maxStagedBytes`: the staged bytes of one sink before it refuses takes.
pub const STAGED_BYTES_DEFAULT: u64 = 1 << 30;
/// Smallest `hdfs.maxStagedBytes`.
pub const STAGED_BYTES_MIN: u64 = 1 << 20;
/// Largest `hdfs.maxStagedBytes`.
pub const STAGED_BYTES_LIMIT: u64 = 1 << 40;
/// Default `hdfs.s3PartBytes`: a file above it is uploaded in parts of this size.
pub const PART_BYTES_DEFAULT: u64 = 8 << 20;
/// Smallest `hdfs.s3PartBytes` (S3's smallest part but the last).
pub const PART_BYTES_MIN: u64 = 5 << 20;
/// Largest `hdfs.s3PartBytes` (one part is held in memory while it is sent).
pub const PART_BYTES_LIMIT: u64 = 256 << 20;
/// The region signed for when none is set anywhere.
pub const REGION_DEFAULT: &str = "us-east-1";

/// Where an S3 sink writes and stages.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The endpoint, region, credentials and path style (always path style for an endpoint
    /// whose host is an IP address).
    pub conn: Connection,
    /// The local directory open files are staged in.
    pub staging_dir: PathBuf,
    /// `hdfs.maxStagedBytes`: the staged bytes before takes are refused.
    pub max_staged_bytes: u64,
    /// `hdfs.s3PartBytes`: multipart above it, in parts of it.
    pub part_bytes: u64,
    /// `hdfs.s3SignPayload`: whether SigV4 signs each request's body (a SHA-256 of every
    /// part) or only its headers (`UNSIGNED-PAYLOAD`, the default).
    pub sign_payload: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = |s: &Option<String>| s.as_ref().map(|_| "********");
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.conn.endpoint)
            .field("endpoint_from", &self.conn.endpoint_from)
            .field("region", &self.conn.region)
            .field("access_key", &self.conn.access_key)
            .field("secret_key", &masked(&self.conn.secret_key))
            .field("session_token", &masked(&self.conn.session_token))
            .field("path_style", &self.conn.path_style)
            .field("staging_dir", &self.staging_dir)
            .field("max_staged_bytes", &self.max_staged_bytes)
            .field("part_bytes", &self.part_bytes)
            .field("sign_payload", &self.sign_payload)
            .finish()
    }
}

impl S3Config {
    /// Bucket `bucket` over `conn`, path style, staged in `/staging` with the default bound
    /// and the smallest parts: what the tests of the store and the writer start from.
    #[cfg(test)]
    pub(crate) fn for_tests(bucket: &str, conn: Connection) -> S3Config {
        S3Config {
            bucket: bucket.into(),
            conn: Connection {
                path_style: true,
                ..conn
            },
            staging_dir: "/staging".into(),
            max_staged_bytes: STAGED_BYTES_DEFAULT,
            part_bytes: PART_BYTES_MIN,
            sign_payload: false,
        }
    }

    /// The bucket and endpoint, for log lines: `bucket logs at http://127.0.0.1:8333
    /// (endpoint from AWS_ENDPOINT_URL_S3, http)`.
    pub fn describe(&self) -> String {
        match &self.conn.endpoint {
            Some(e) => format!(
                "bucket {} at {e} (endpoint from {}, {})",
                self.bucket,
                self.conn.endpoint_from,
                endpoint::scheme(e).to_ascii_lowercase()
            ),
            None => format!(
                "bucket {} at AWS S3 ({}; no endpoint set: none of fs.s3a.endpoint, {})",
                self.bucket,
                self.conn
                    .region
                    .as_deref()
                    .unwrap_or("region from AWS_REGION"),
                endpoint::ENDPOINT_ENV.join(", ")
            ),
        }
    }
}

/// The endpoint, region, credentials and path style: read before the sink's own keys, and
/// then part of its [`S3Config`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// The store's URL (`http://127.0.0.1:8333`), or `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Which setting named the endpoint.
    pub endpoint_from: EndpointFrom,
    /// The region signed for (`None`: `AWS_REGION`, else [`REGION_DEFAULT`]).
    pub region: Option<String>,
    /// The access key (`None`: `AWS_ACCESS_KEY_ID`, else the credential chain).
    pub access_key: Option<String>,
    /// The secret key.
    pub secret_key: Option<String>,
    /// A session token with temporary credentials.
    pub session_token: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted ones.
    pub path_style: bool,
}

/// Whether `b` is a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit).
pub fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Splits what follows `s3a://` or `s3://` into the bucket and the absolute key path
/// (`/prefix/%Y%m%d`), or reports why it is refused.
pub fn split_url(cx: &mut Ctx<'_>, original: &str, rest: &str) -> Option<(String, String)> {
    let (bucket, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if !valid_bucket(bucket) {
        cx.error(
            "hdfs.path",
            format!("{original:?}: {bucket:?} is not a bucket name (3-63 lowercase letters, digits, '.' and '-'; no escapes)"),
        );
        return None;
    }
    if path.contains("//") {
        cx.error(
            "hdfs.path",
            format!("{original:?}: an empty path segment ('//') would make an object key with an empty directory"),
        );
        return None;
    }
    Some((bucket.to_owned(), path.to_owned()))
}

/// An endpoint as a URL: `host:port` gets `https://` (or `http://` when `ssl` is false), as
/// Hadoop's `fs.s3a.connection.ssl.enabled` does.
pub fn endpoint_url(e: &str, ssl: bool) -> String {
    let e = e.trim().trim_end_matches('/');
    if e.contains("://") {
        e.to_owned()
    } else if ssl {
        format!("https://{e}")
    } else {
        format!("http://{e}")
    }
}

/// The connection from the `fs.s3a.*` keys of `hdfs.hdfsConfigDir` (else `HADOOP_CONF_DIR`).
pub fn from_core_site(cx: &mut Ctx<'_>) -> Connection {
    let from_key = cx.get("hdfs.hdfsConfigDir");
    let dir = from_key
        .clone()
        .or_else(|| std::env::var(HADOOP_CONF_DIR_ENV).ok())
        .filter(|d| !d.is_empty());
    let Some(dir) = dir else {
        return Connection::default();
    };
    if from_key.is_some() && !std::path::Path::new(&dir).is_dir() {
        cx.error(
            "hdfs.hdfsConfigDir",
            format!(
                "{dir:?} is not a directory (it should hold core-site.xml with the fs.s3a.* keys)"
            ),
        );
        return Connection::default();
    }
    let keys = match read_s3a_keys(std::path::Path::new(&dir)) {
        Ok(k) => k,
        Err(e) => {
            cx.error("hdfs.hdfsConfigDir", e.to_string());
            return Connection::default();
        }
    };
    let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
    if get("fs.s3a.access.key").is_some() != get("fs.s3a.secret.key").is_some() {
        cx.error(
            "hdfs.hdfsConfigDir",
            "an access key needs its secret key and a secret key its access key (fs.s3a.access.key, fs.s3a.secret.key)",
        );
    }
    let ssl =
        !get("fs.s3a.connection.ssl.enabled").is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let endpoint = get("fs.s3a.endpoint").map(|e| endpoint_url(&e, ssl));
    Connection {
        endpoint_from: match endpoint {
            Some(_) => EndpointFrom::CoreSite,
            None => EndpointFrom::Aws,
        },
        endpoint,
        region: get("fs.s3a.endpoint.region"),
        access_key: get("fs.s3a.access.key"),
        secret_key: get("fs.s3a.secret.key"),
        session_token: get("fs.s3a.session.token"),
        path_style: get("fs.s3a.path.style.access").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }
}

/// The default staging directory of a sink: `~/.flume/s3-staging/<agent>-<sink>`, beside the
/// file channel's default directories (`~/.flume/file-channel`).
pub fn default_staging_dir(cx: &Ctx<'_>) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let comp = cx.comp();
    let agent = comp.key_prefix.split('.').next().unwrap_or("agent");
    home.join(".flume")
        .join("s3-staging")
        .join(format!("{agent}-{}", comp.name))
}

/// The connection with its endpoint from [`endpoint::ENDPOINT_ENV`] when the sink's
/// settings name none; an endpoint that is not an `http://` or `https://` URL is refused
/// naming the variable.
pub fn with_env_endpoint(
    cx: &mut Ctx<'_>,
    mut conn: Connection,
    get: impl Fn(&str) -> Option<String>,
) -> Connection {
    if conn.endpoint.is_some() {
        return conn;
    }
    if let Some((name, url)) = endpoint::from_env(get) {
        if !endpoint::is_http_url(&url) {
            cx.error(
                "hdfs.path",
                format!("the store's endpoint comes from {name} = {url:?}, which is not an http:// or https:// URL: set {name} to http(s)://host[:port], or set the sink's endpoint (fs.s3a.endpoint in core-site.xml; endpoint with type = s3), which wins over it"),
            );
        }
        conn.endpoint = Some(url);
        conn.endpoint_from = EndpointFrom::Env(name);
    }
    conn
}

/// Reads the staging keys and puts together an S3 sink's settings.
pub fn parse(cx: &mut Ctx<'_>, bucket: String, conn: Connection) -> S3Config {
    let conn = with_env_endpoint(cx, conn, |k| std::env::var(k).ok());
    // No bucket can be a label of an IP address: such an endpoint is addressed path-style
    // (as the AWS SDKs do).
    let path_style = conn.path_style || conn.endpoint.as_deref().is_some_and(endpoint::host_is_ip);
    let staging_dir = match cx.get("hdfs.s3StagingDir").filter(|d| !d.trim().is_empty()) {
        Some(d) if std::path::Path::new(&d).is_relative() => {
            cx.error(
                "hdfs.s3StagingDir",
                format!("{d:?} must be an absolute path"),
            );
            PathBuf::from(d)
        }
        Some(d) => PathBuf::from(d),
        None => default_staging_dir(cx),
    };
    let max_staged_bytes = cx.bytes(
        "hdfs.maxStagedBytes",
        STAGED_BYTES_DEFAULT,
        STAGED_BYTES_MIN,
        STAGED_BYTES_LIMIT,
    );
    let part_bytes = cx.bytes(
        "hdfs.s3PartBytes",
        PART_BYTES_DEFAULT,
        PART_BYTES_MIN,
        PART_BYTES_LIMIT,
    );
    let sign_payload = cx.bool("hdfs.s3SignPayload", false);
    S3Config {
        bucket,
        conn: Connection { path_style, ..conn },
        staging_dir,
        max_staged_bytes,
        part_bytes,
        sign_payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["logs", "my-logs.2026", "a1b"] {
            assert!(valid_bucket(ok), "{ok}");
        }
        for bad in ["ab", "Logs", "-logs", "logs-", "lo_gs", "%{host}", ""] {
            assert!(!valid_bucket(bad), "{bad}");
        }
    }

    #[test]
    fn an_endpoint_without_a_scheme_gets_https_unless_ssl_is_off() {
        assert_eq!(endpoint_url("s3.local:9000", true), "https://s3.local:9000");
        assert_eq!(endpoint_url("s3.local:9000", false), "http://s3.local:9000");
        assert_eq!(
            endpoint_url("http://127.0.0.1:8333/", true),
            "http://127.0.0.1:8333"
        );
    }
}
