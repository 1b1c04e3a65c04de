//! The `clickhouse` sink's keys: `url` (comma-separated `http(s)://host:8123`; a refused
//! connection or a 5xx fails over to the next), `database` (`default`), `table` (required),
//! `user` (`default`), `password` or `passwordFile`, `batchSize` (events per take and per
//! INSERT), `maxBatchBytes` (most bytes of rows in one INSERT: a larger take is cut into
//! several), `compression` (`none` or `gzip`: the request's Content-Encoding),
//! `connectTimeout` / `requestTimeout` (ms) and `columns` (`col = source, ...`: overrides the
//! matching by name; a source is `body`, `timestamp`, `id` or `header:<name>`). TLS with the
//! otlp and avro sinks' keys (`ssl`, `truststore`, `truststore-type`, `truststore-password`,
//! `trust-all-certs`, `verify-hostname`, the protocol and cipher-suite lists), read by the RPC
//! sinks' own parser ([`crate::agent::rpc::transport::config::client_keys`]): an `https://`
//! url needs `ssl = true` and `ssl = true` only `https://` urls, so neither is silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::rpc::transport::settings::{Password, TlsClientSettings};
use crate::agent::rpc::transport::Compression;

/// `batchSize` default: ClickHouse wants inserts of thousands of rows, not tens.
pub(crate) const BATCH_SIZE_DEFAULT: u64 = 10_000;
/// Largest `batchSize`: well under ClickHouse's `max_insert_block_size` (1,048,576 rows), so
/// one INSERT is one block and a refused row refuses the whole INSERT (nothing half stored).
pub(crate) const BATCH_SIZE_MAX: u64 = 100_000;
/// `maxBatchBytes` default (16 MiB of rows per INSERT).
pub(crate) const BATCH_BYTES_DEFAULT: u64 = 16 << 20;
/// `connectTimeout` default in ms.
pub(crate) const CONNECT_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// `requestTimeout` default in ms (one INSERT or query, with its answer).
pub(crate) const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 30_000;
/// Longest timeout accepted (one hour).
pub(crate) const TIMEOUT_MS_MAX: u64 = 3_600_000;

/// Where a column's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The event's body.
    Body,
    /// The `timestamp` header (ms), as the column's type wants it.
    Timestamp,
    /// The event's id (`sluiceId`).
    Id,
    /// A header.
    Header(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Body => f.write_str("body"),
            Source::Timestamp => f.write_str("timestamp"),
            Source::Id => f.write_str("id"),
            Source::Header(h) => write!(f, "header:{h}"),
        }
    }
}

/// Where the password comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    /// No password.
    None,
    /// `password`.
    Given(Password),
    /// `passwordFile` (read at start; one trailing line break dropped).
    File(PathBuf),
}

/// `clickhouse` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// `url`, split at commas, each without a trailing `/`.
    pub urls: Vec<String>,
    /// `database`.
    pub database: String,
    /// `table`.
    pub table: String,
    /// `user`.
    pub user: String,
    /// `password` / `passwordFile`.
    pub password: Secret,
    /// `batchSize`.
    pub batch_size: usize,
    /// `maxBatchBytes`.
    pub batch_bytes_max: usize,
    /// `compression = gzip`.
    pub gzip: bool,
    /// `connectTimeout`.
    pub connect_timeout: Duration,
    /// `requestTimeout`.
    pub request_timeout: Duration,
    /// `columns`, in the order written (empty: match by name).
    pub columns: Vec<(String, Source)>,
    /// `ssl = true`: TLS as the `truststore*` keys say (every url is `https://`).
    pub tls: Option<TlsClientSettings>,
}

impl ClickHouseConfig {
    /// `url` as written (for messages).
    pub fn url(&self) -> String {
        self.urls.join(",")
    }

    /// `database.table`, quoted for SQL.
    pub fn qualified(&self) -> String {
        format!("`{}`.`{}`", self.database, self.table)
    }
}

/// Reads a `clickhouse` sink's keys; `None` after an error (reported through `cx`).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<ClickHouseConfig> {
    let security = crate::agent::rpc::transport::config::client_keys(cx);
    if security.compression != Compression::None {
        cx.error(
            "compression-type",
            "the clickhouse sink compresses each INSERT (compression = gzip), not the \
             connection: remove compression-type",
        );
    }
    let tls = security.tls;
    let urls = urls(cx, tls.is_some());
    let database = name(cx, "database", Some("default"));
    let table = name(cx, "table", None);
    let user = cx
        .get("user")
        .map(|u| u.trim().to_owned())
        .unwrap_or_else(|| "default".into());
    let password = match (cx.get("password"), cx.get("passwordFile")) {
        (Some(_), Some(_)) => {
            cx.error("passwordFile", "set password or passwordFile, not both");
            Secret::None
        }
        (Some(p), None) => Secret::Given(Password(p)),
        (None, Some(f)) => Secret::File(PathBuf::from(f.trim())),
        (None, None) => Secret::None,
    };
    let batch_size = cx.u64("batchSize", BATCH_SIZE_DEFAULT, 1, BATCH_SIZE_MAX) as usize;
    let batch_bytes_max = cx.bytes_usize("maxBatchBytes", BATCH_BYTES_DEFAULT, 1024, 1 << 30);
    let gzip = match cx.get("compression").map(|c| c.trim().to_ascii_lowercase()) {
        None => false,
        Some(c) if c == "none" => false,
        Some(c) if c == "gzip" => true,
        Some(c) => {
            cx.error("compression", format!("expected gzip or none, got {c:?}"));
            false
        }
    };
    let connect_timeout = cx.millis(
        "connectTimeout",
        CONNECT_TIMEOUT_MS_DEFAULT,
        1,
        TIMEOUT_MS_MAX,
    );
    let request_timeout = cx.millis(
        "requestTimeout",
        REQUEST_TIMEOUT_MS_DEFAULT,
        1,
        TIMEOUT_MS_MAX,
    );
    let columns = columns(cx);
    if cx.failed() {
        return None;
    }
    Some(ClickHouseConfig {
        urls: urls?,
        database: database?,
        table: table?,
        user,
        password,
        batch_size,
        batch_bytes_max,
        gzip,
        connect_timeout,
        request_timeout,
        columns,
        tls,
    })
}

/// `url`'s servers; each `https://` when `ssl` is true, else `http://`.
fn urls(cx: &mut Ctx<'_>, ssl: bool) -> Option<Vec<String>> {
    let url = cx.required("url")?;
    let mut out = Vec::new();
    for u in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match u.parse::<hyper::Uri>() {
            Ok(p) if matches!(p.scheme_str(), Some("http" | "https")) && p.host().is_some() => {
                match (p.scheme_str(), ssl) {
                    (Some("https"), false) => cx.error(
                        "url",
                        format!("{u:?} is https:// but ssl is not true: set ssl = true (and truststore = <the CA's file> unless the server's certificate chains to a public root)"),
                    ),
                    (Some("http"), true) => cx.error(
                        "url",
                        format!("{u:?} is http:// but ssl = true: use https:// (ClickHouse's https_port) or remove ssl"),
                    ),
                    _ => out.push(u.trim_end_matches('/').to_owned()),
                }
            }
            _ => cx.error(
                "url",
                format!("{u:?} is not an http:// or https:// URL of a ClickHouse HTTP interface (http://host:8123)"),
            ),
        }
    }
    if out.is_empty() {
        cx.error("url", "names no server (http://host:8123, comma-separated)");
        return None;
    }
    Some(out)
}

/// A database or table name: letters, digits and `_` (so it needs no escaping in SQL).
fn name(cx: &mut Ctx<'_>, key: &str, default: Option<&str>) -> Option<String> {
    let v = match default {
        Some(d) => cx.get(key).unwrap_or_else(|| d.to_owned()),
        None => cx.required(key)?,
    };
    let v = v.trim().to_owned();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        cx.error(
            key,
            format!("{v:?} is not a plain ClickHouse name (letters, digits and _)"),
        );
        return None;
    }
    Some(v)
}

/// `columns = col = source, col2 = source2`.
fn columns(cx: &mut Ctx<'_>) -> Vec<(String, Source)> {
    let Some(text) = cx.get("columns") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((col, src)) = part.split_once('=') else {
            cx.error(
                "columns",
                format!("{part:?}: expected col = body | timestamp | id | header:<name>"),
            );
            continue;
        };
        let (col, src) = (col.trim(), src.trim());
        let source = match src {
            "body" => Source::Body,
            "timestamp" => Source::Timestamp,
            "id" => Source::Id,
            h if h.starts_with("header:") && h.len() > 7 => Source::Header(h[7..].to_owned()),
            other => {
                cx.error(
                    "columns",
                    format!(
                        "{col}: source {other:?} is none of body, timestamp, id, header:<name>"
                    ),
                );
                continue;
            }
        };
        if col.is_empty() || out.iter().any(|(c, _)| c == col) {
            cx.error("columns", format!("column {col:?} is empty or named twice"));
            continue;
        }
        out.push((col.to_owned(), source));
    }
    out
}
