//! The settings of an `hdfs` sink that writes to a real HDFS cluster: where the NameNode is
//! (`hdfs.path = hdfs://HOST:PORT/dir` or `hdfs:///dir` with `fs.defaultFS` from
//! `hdfs.hdfsConfigDir` or `HADOOP_CONF_DIR`), whom to write as (`hdfs.proxyUser`) and the
//! keys of Hadoop's client that Sluice refuses (Kerberos) or accepts without effect.

use std::path::Path;

use crate::agent::config::ctx::Ctx;

/// The environment variable Hadoop's tools read their configuration directory from.
pub const HADOOP_CONF_DIR_ENV: &str = "HADOOP_CONF_DIR";

/// Largest `hdfs.threadsPoolSize`/`hdfs.rollTimerPoolSize` accepted (both are ignored).
pub const POOL_SIZE_MAX: u64 = 10_000;

/// Where an HDFS sink writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteConfig {
    /// `hdfs://HOST[:PORT]` (or a name service `hdfs://NAME`), or `None` for `hdfs:///`:
    /// `fs.defaultFS` of the configuration directory.
    pub authority: Option<String>,
    /// `hdfs.hdfsConfigDir`: core-site.xml and hdfs-site.xml (HA name services); else
    /// `HADOOP_CONF_DIR` as Hadoop's tools read it.
    pub config_dir: Option<String>,
    /// `hdfs.proxyUser`: the user files are written as (simple authentication).
    pub user: Option<String>,
}

impl RemoteConfig {
    /// The URL the client is built with, or `None` for `fs.defaultFS`.
    pub fn url(&self) -> Option<String> {
        self.authority.as_ref().map(|a| format!("hdfs://{a}"))
    }

    /// The NameNode (or name service) for log lines.
    pub fn describe(&self) -> String {
        match &self.authority {
            Some(a) => format!("NameNode hdfs://{a}"),
            None => format!(
                "NameNode fs.defaultFS from {}",
                self.config_dir
                    .clone()
                    .unwrap_or_else(|| format!("${HADOOP_CONF_DIR_ENV}"))
            ),
        }
    }
}

/// Splits an `hdfs://` `hdfs.path` into the cluster and the absolute path inside it, or
/// reports why it is refused. `original` is the value as written (for messages).
pub fn split_url(cx: &mut Ctx<'_>, original: &str, rest: &str) -> Option<(String, String)> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') || authority.contains('?') || authority.contains('#') {
        cx.error(
            "hdfs.path",
            format!("{original:?}: user names, queries and fragments are not supported in an hdfs:// URI"),
        );
        return None;
    }
    if let Some((_, port)) = authority.rsplit_once(':') {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            cx.error(
                "hdfs.path",
                format!("{original:?}: {port:?} is not a port number (1-65535)"),
            );
            return None;
        }
    }
    Some((authority.to_owned(), path.to_owned()))
}

/// Reads the cluster keys of an `hdfs://` sink: `hdfs.hdfsConfigDir`, `hdfs.proxyUser`, the
/// refused Kerberos keys and the accepted-but-ignored pool keys.
pub fn parse(cx: &mut Ctx<'_>, authority: String) -> RemoteConfig {
    let config_dir = cx
        .get("hdfs.hdfsConfigDir")
        .or_else(|| std::env::var(HADOOP_CONF_DIR_ENV).ok())
        .filter(|d| !d.is_empty());
    let authority = (!authority.is_empty()).then_some(authority);
    if authority.is_none() {
        match &config_dir {
            None => cx.error(
                "hdfs.path",
                format!("hdfs:/// takes the NameNode from fs.defaultFS, but neither hdfs.hdfsConfigDir nor {HADOOP_CONF_DIR_ENV} names a configuration directory; set one, or write hdfs://HOST:PORT/..."),
            ),
            Some(d) if !Path::new(d).join("core-site.xml").is_file() => cx.error(
                "hdfs.path",
                format!("hdfs:/// takes the NameNode from fs.defaultFS, but {d}/core-site.xml does not exist"),
            ),
            Some(_) => {}
        }
    }
    if let Some(d) = cx.get("hdfs.hdfsConfigDir") {
        if !Path::new(&d).is_dir() {
            cx.error(
                "hdfs.hdfsConfigDir",
                format!(
                    "{d:?} is not a directory (it should hold core-site.xml and hdfs-site.xml)"
                ),
            );
        }
    }
    for k in ["hdfs.kerberosPrincipal", "hdfs.kerberosKeytab"] {
        if cx.get(k).is_some_and(|v| !v.trim().is_empty()) {
            cx.error(
                k,
                "Kerberos is not supported yet: Sluice's HDFS client has not been proven with a keytab (no KDC to test against); use a cluster with simple authentication, or Flume for this sink",
            );
        }
    }
    if cx.get("hdfs.minBlockReplicas").is_some() {
        cx.warn(
            "hdfs.minBlockReplicas",
            "ignored: the HDFS client does not report how many DataNodes the write pipeline has, so files are not rolled on under-replication",
        );
    }
    for k in ["hdfs.threadsPoolSize", "hdfs.rollTimerPoolSize"] {
        if cx.get(k).is_some() {
            cx.u64(k, 1, 1, POOL_SIZE_MAX);
            cx.warn(
                k,
                "accepted and ignored: each hdfs sink does its file work on one blocking thread with one HDFS client",
            );
        }
    }
    let user = cx.get("hdfs.proxyUser").filter(|u| !u.trim().is_empty());
    RemoteConfig {
        authority,
        config_dir,
        user,
    }
}
