//! `type = s3`: the `hdfs` sink on an S3 bucket, configured with plain keys for users who do
//! not come from Flume. There is one implementation: [`parse`] rewrites the plain keys into
//! the hdfs sink's (`bucket` and `keyPrefix` become `hdfs.path = s3a://BUCKET/KEYPREFIX`,
//! every other behaviour key `X` becomes `hdfs.X`, [`RENAMED`](crate::agent::sink::rolling::keys::RENAMED) the staging keys, `serializer*`
//! stay as they are), reads them with the hdfs sink's own parser
//! ([`config::parse_with`](crate::agent::sink::rolling::config::parse_with)), the connection
//! (`endpoint`, `region`, `pathStyleAccess`, `accessKey`/`secretKey`/`sessionToken`) given
//! directly instead of from core-site.xml, and reports that parser's problems under the plain
//! keys. What the hdfs parser does not read is an unknown key, and an error: no Flume
//! configuration has an `s3` sink to stay lenient for.

use std::collections::BTreeMap;

use crate::agent::config::ctx::{near_miss, Ctx};
use crate::agent::config::problem::Problem;
use crate::agent::config::raw::{RawComponent, RawValue};
use crate::agent::sink::rolling::config::s3::{endpoint_url, valid_bucket, Connection};
use crate::agent::sink::rolling::config::{parse_with, RollingConfig};
use crate::agent::sink::rolling::keys::{plain_key, KeyNames, RENAMED};
use crate::agent::sink::{BuildSink, Sink};

/// The class name a `type` may give instead of `s3` (Sluice's own sink).
pub const CLASS: &str = "io.sluice.sink.s3.S3Sink";

/// The keys read here rather than by the hdfs sink's parser.
pub const CONNECTION_KEYS: [&str; 8] = [
    "bucket",
    "keyPrefix",
    "endpoint",
    "region",
    "pathStyleAccess",
    "accessKey",
    "secretKey",
    "sessionToken",
];

/// A bucket the rest of the keys are checked with when `bucket` is missing or refused
/// (the refusal is reported; the settings are then never run).
const STAND_IN_BUCKET: &str = "bucket";

/// The settings of a `type = s3` sink: the hdfs sink's, with its batch size under the plain
/// key `batchSize`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3SinkConfig(pub RollingConfig);

impl BuildSink for S3SinkConfig {
    fn batch_size(&self) -> usize {
        self.0.batch_size
    }

    fn build(&self, name: &str) -> Box<dyn Sink> {
        Box::new(crate::agent::sink::hdfs::rolling_sink(name, &self.0))
    }
}

/// Keys a sink's runner reads, not its parser.
fn runner_key(k: &str) -> bool {
    k == "type" || k == "channel" || k.starts_with("deadLetter.")
}

/// Why a plain key has no hdfs sink key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NoHdfsKey {
    /// The hdfs sink's key of a renamed plain key.
    #[error("unknown key for an s3 sink (did you mean `{0}`?)")]
    DidYouMean(&'static str),
    /// An `hdfs.`-prefixed key.
    #[error("an s3 sink takes the hdfs sink's keys without `hdfs.`: `{0}`")]
    HdfsPrefixed(String),
    /// `path`.
    #[error("an s3 sink takes `bucket` and `keyPrefix` instead of a path")]
    Path,
}

/// The hdfs sink's key for a plain key (`rollSize` → `hdfs.rollSize`), or why there is none.
fn hdfs_key(plain: &str) -> Result<String, NoHdfsKey> {
    if let Some((_, h)) = RENAMED.iter().find(|(p, _)| *p == plain) {
        return Ok((*h).to_owned());
    }
    if plain == "serializer" || plain.starts_with("serializer.") {
        return Ok(plain.to_owned());
    }
    if let Some((p, _)) = RENAMED
        .iter()
        .find(|(_, h)| h.strip_prefix("hdfs.") == Some(plain))
    {
        return Err(NoHdfsKey::DidYouMean(p));
    }
    if let Some(tail) = plain.strip_prefix("hdfs.") {
        let tail = plain_key(plain, "keyPrefix").unwrap_or_else(|| tail.to_owned());
        return Err(NoHdfsKey::HdfsPrefixed(tail));
    }
    if plain == "path" {
        return Err(NoHdfsKey::Path);
    }
    Ok(format!("hdfs.{plain}"))
}

/// `text` with every `hdfs.KEY` it names spelt as the plain key.
fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("hdfs.") {
        let (before, at) = rest.split_at(i);
        out.push_str(before);
        let key_len = at
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
            .map_or(at.len(), |(n, _)| n);
        let key = at[..key_len].trim_end_matches('.');
        let starts_word = !out
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.');
        match plain_key(key, "keyPrefix").filter(|p| starts_word && p != "md" && !p.is_empty()) {
            Some(p) => out.push_str(&p),
            None => out.push_str(key),
        }
        rest = &at[key.len()..];
    }
    out.push_str(rest);
    out
}

/// The connection keys.
fn connection(cx: &mut Ctx<'_>) -> Connection {
    let endpoint = cx.get("endpoint").map(|e| endpoint_url(&e, true));
    if let Some(e) = &endpoint {
        let lower = e.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || lower.ends_with("://")
        {
            cx.error(
                "endpoint",
                format!(
                    "{e:?} is not an http:// or https:// URL (or host:port, which gets https://)"
                ),
            );
        }
    }
    let access_key = cx.get("accessKey");
    let secret_key = cx.get("secretKey");
    let session_token = cx.get("sessionToken");
    if access_key.is_some() != secret_key.is_some() {
        let (set, missing) = if access_key.is_some() {
            ("accessKey", "secretKey")
        } else {
            ("secretKey", "accessKey")
        };
        cx.error(
            set,
            format!("needs `{missing}` too (leave both out for AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the instance's credentials)"),
        );
    }
    if session_token.is_some() && access_key.is_none() {
        cx.error(
            "sessionToken",
            "needs `accessKey` and `secretKey` (the temporary credentials it belongs to)",
        );
    }
    Connection {
        endpoint_from: match endpoint {
            Some(_) => crate::agent::sink::rolling::config::endpoint::EndpointFrom::SinkKey,
            None => crate::agent::sink::rolling::config::endpoint::EndpointFrom::Aws,
        },
        endpoint,
        region: cx.get("region").filter(|r| !r.trim().is_empty()),
        access_key,
        secret_key,
        session_token,
        path_style: cx.bool("pathStyleAccess", false),
    }
}

/// `bucket` and `keyPrefix` as an `s3a://` URI (a stand-in bucket after an error).
fn url(cx: &mut Ctx<'_>) -> String {
    let bucket = match cx.required("bucket") {
        Some(b) if valid_bucket(&b) => b,
        Some(b) => {
            cx.error(
                "bucket",
                format!("{b:?} is not a bucket name (3-63 lowercase letters, digits, '.' and '-'; no escapes)"),
            );
            STAND_IN_BUCKET.to_owned()
        }
        None => STAND_IN_BUCKET.to_owned(),
    };
    let prefix = cx.get("keyPrefix").unwrap_or_default();
    let prefix = prefix.trim_matches('/');
    if prefix.contains("//") {
        cx.error(
            "keyPrefix",
            format!("{prefix:?}: an empty path segment ('//') would make an object key with an empty directory"),
        );
        return format!("s3a://{bucket}/");
    }
    format!("s3a://{bucket}/{prefix}")
}

/// The component as the hdfs sink's parser reads it: plain keys renamed, `hdfs.path` added
/// at the line of `path_key`. A key that never is one of the hdfs sink's is reported.
fn renamed(cx: &mut Ctx<'_>, url: String, path_key: &str) -> RawComponent {
    let comp = cx.comp().clone();
    let mut props = BTreeMap::new();
    for (k, v) in &comp.props {
        if CONNECTION_KEYS.contains(&k.as_str()) || runner_key(k) {
            continue;
        }
        match hdfs_key(k) {
            Ok(h) => {
                props.insert(h, v.clone());
            }
            Err(why) => {
                // Marked read, so the reader's final pass does not report it a second time.
                let _ = cx.get(k);
                cx.error(k, why.to_string());
            }
        }
    }
    let origin = cx.origin(path_key);
    props.insert("hdfs.path".to_owned(), RawValue { value: url, origin });
    RawComponent { props, ..comp }
}

/// Reads a `type = s3` sink's keys: every problem names the plain key it is about.
pub fn parse(cx: &mut Ctx<'_>) -> Option<S3SinkConfig> {
    let conn = connection(cx);
    let url = url(cx);
    let path_key = if cx.comp().props.contains_key("keyPrefix") {
        "keyPrefix"
    } else {
        "bucket"
    };
    let inner = renamed(cx, url, path_key);
    let mut problems = Vec::new();
    let mut icx = Ctx::new(&inner, &mut problems);
    let cfg = parse_with(&mut icx, Some(conn));
    let unread: Vec<String> = inner
        .props
        .keys()
        .filter(|k| !icx.was_read(k))
        .cloned()
        .collect();
    let known: Vec<String> = icx
        .read_keys()
        .map(|k| plain_key(k, path_key).unwrap_or_else(|| k.to_owned()))
        .chain(CONNECTION_KEYS.iter().map(|k| (*k).to_owned()))
        .collect();
    drop(icx);
    for p in problems {
        let key = p
            .key
            .strip_prefix(&inner.key_prefix)
            .map(|k| plain_key(k, path_key).unwrap_or_else(|| k.to_owned()))
            .map_or_else(|| p.key.clone(), |k| inner.full_key(&k));
        cx.report(Problem {
            key,
            message: plain_text(&p.message),
            ..p
        });
    }
    // Every key given to the hdfs parser is answered for here: read, or an error below.
    for k in inner.props.keys() {
        let plain = plain_key(k, path_key).unwrap_or_else(|| k.clone());
        let _ = cx.get(&plain);
    }
    for h in unread {
        let plain = plain_key(&h, path_key).unwrap_or(h);
        let hint = known
            .iter()
            .find(|k| near_miss(&plain, k))
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        cx.error(&plain, format!("unknown key for an s3 sink{hint}"));
    }
    cfg.map(|mut c| {
        c.keys = KeyNames::Plain;
        S3SinkConfig(c)
    })
}

#[cfg(test)]
mod tests;
