//! Where `hdfs.path` points: a plain path or `file://` URI (a local or mounted file system),
//! an `hdfs://` URI (the cluster's settings read with it) or an `s3a://`/`s3://` URI (the
//! bucket's); any other scheme is refused at its line.

use super::remote::{self, RemoteConfig};
use super::s3::{self, S3Config};
use crate::agent::config::ctx::Ctx;
use crate::agent::sink::rolling::path::PathTemplate;

/// `hdfs.path`: its target ([`target`]), the path checked as a template.
pub(super) fn hdfs_path(cx: &mut Ctx<'_>, conn: Option<s3::Connection>) -> Target {
    let (path, remote, s3) = match cx.required("hdfs.path") {
        Some(p) => target(cx, &p, conn),
        None => (None, None, None),
    };
    if let Some(p) = &path {
        if let Err(e) = PathTemplate::parse(p) {
            cx.error("hdfs.path", e.to_string());
        }
    }
    (path, remote, s3)
}

/// What `hdfs.path` names: the path inside its file system, and the cluster's settings for
/// `hdfs://` or the bucket's for `s3a://` and `s3://`.
pub(super) type Target = (Option<String>, Option<RemoteConfig>, Option<S3Config>);

/// `hdfs.path` split into the path inside its file system and, for `hdfs://`, the cluster's
/// settings (read here, so that they are checked even when the path is refused), or for
/// `s3a://`/`s3://` the bucket's.
fn target(cx: &mut Ctx<'_>, p: &str, conn: Option<s3::Connection>) -> Target {
    let lower = p.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("s3a://")
        .or_else(|| lower.strip_prefix("s3://"))
    {
        let rest = &p[p.len() - rest.len()..];
        let conn = conn.unwrap_or_else(|| s3::from_core_site(cx));
        return match s3::split_url(cx, p, rest) {
            Some((bucket, path)) => (Some(path), None, Some(s3::parse(cx, bucket, conn))),
            None => (None, None, Some(s3::parse(cx, String::new(), conn))),
        };
    }
    let Some(rest) = lower.strip_prefix("hdfs://") else {
        return (local_path(cx, p), None, None);
    };
    let rest = &p[p.len() - rest.len()..];
    match remote::split_url(cx, p, rest) {
        Some((authority, path)) => (Some(path), Some(remote::parse(cx, authority)), None),
        None => (None, Some(remote::parse(cx, String::new())), None),
    }
}

/// `hdfs.path` as a local path: plain or `file://`; schemes other than `hdfs://` are refused.
fn local_path(cx: &mut Ctx<'_>, p: &str) -> Option<String> {
    let lower = p.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("file://") {
        let rest = &p[p.len() - rest.len()..];
        if !rest.starts_with('/') {
            cx.error(
                "hdfs.path",
                format!("{p:?}: a file:// URI needs an absolute path (file:///data/logs)"),
            );
            return None;
        }
        return Some(rest.to_owned());
    }
    if let Some((scheme, _)) = p.split_once("://") {
        cx.error(
            "hdfs.path",
            format!(
                "{p:?}: the {scheme}:// scheme is not supported; Sluice writes to HDFS (hdfs://HOST:PORT/... or hdfs:///... with fs.defaultFS), to S3 (s3a://BUCKET/... or s3://BUCKET/...) or to a local or mounted file system (a plain path or file:///...)"
            ),
        );
        return None;
    }
    if p.is_empty() {
        cx.error("hdfs.path", "must not be empty");
        return None;
    }
    Some(p.to_owned())
}
