//! The ZooKeeper configuration source, as Flume 1.11's `PollingZooKeeperConfigurationProvider`:
//! `-z/--zkConnString HOSTS` and `-p/--zkBasePath BASE` (default [`BASE_PATH_DEFAULT`], Flume's
//! `/flume`); the agent's properties are the data of the znode `BASE/AGENT`, read with a watch
//! that fires when the data changes or the node goes.
//!
//! Client: `zookeeper-client` (the `tokio` feature), async and maintained, with typed errors,
//! one-shot watches as futures and a connect that can fail fast when no server answers.
//!
//! Where Flume differs: Flume's polling provider starts with no configuration when ZooKeeper
//! is down or the znode is missing, and waits; Sluice refuses to start (a clear error: nothing
//! would run, silently). Flume does not resolve `${...}` in a znode's text; Sluice resolves it
//! as in every file.

use std::time::Duration;

use zookeeper_client as zk;

use super::CONF_BYTES_MAX;
use crate::agent::config::ConfFile;

/// Flume's default base path (`AbstractZooKeeperConfigurationProvider.DEFAULT_ZK_BASE_PATH`).
pub(crate) const BASE_PATH_DEFAULT: &str = "/flume";

/// How long a connection (a session established) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The deadline of one read.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the znode could not be read; every variant names the servers or the znode.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// No session with any server.
    #[error("cannot connect to ZooKeeper at {hosts}: {why}")]
    Connect {
        /// `-z`.
        hosts: String,
        /// The client's error.
        why: String,
    },
    /// The znode does not exist.
    #[error("ZooKeeper at {hosts} has no znode {path}: create it with the agent's properties as its data")]
    NoNode {
        /// `-z`.
        hosts: String,
        /// `BASE/AGENT`.
        path: String,
    },
    /// A read failed or timed out.
    #[error("reading znode {path} from ZooKeeper at {hosts}: {why}")]
    Read {
        /// `-z`.
        hosts: String,
        /// `BASE/AGENT`.
        path: String,
        /// The client's error.
        why: String,
    },
    /// The data is over [`CONF_BYTES_MAX`] or not UTF-8.
    #[error("znode {path}: {why}")]
    Data {
        /// `BASE/AGENT`.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// `-p` is no absolute znode path.
    #[error("-p {base}: a ZooKeeper base path starts with / (default {BASE_PATH_DEFAULT})")]
    BadBase {
        /// `-p` as given.
        base: String,
    },
}

/// A change the watch saw (data changed, node created or deleted, or the session's state).
pub type Watch = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The agent's znode on a ZooKeeper ensemble.
pub struct ZkSource {
    hosts: String,
    path: String,
    client: Option<zk::Client>,
}

impl std::fmt::Debug for ZkSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkSource")
            .field("hosts", &self.hosts)
            .field("path", &self.path)
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl ZkSource {
    /// The source of `agent` under `base` (Flume's default when `None`) at `hosts`; nothing
    /// is connected yet.
    pub fn new(hosts: &str, base: Option<&str>, agent: &str) -> Result<ZkSource, ZkError> {
        let base = base.unwrap_or(BASE_PATH_DEFAULT);
        if !base.starts_with('/') {
            return Err(ZkError::BadBase {
                base: base.to_owned(),
            });
        }
        Ok(ZkSource {
            hosts: hosts.to_owned(),
            path: format!("{}/{agent}", base.trim_end_matches('/')),
            client: None,
        })
    }

    /// `BASE/AGENT`.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Reads the znode (connecting first if needed) and, with `watch`, sets a watch on it.
    /// After an error the session is dropped and the next read connects again.
    pub async fn read(&mut self, watch: bool) -> Result<(ConfFile, Option<Watch>), ZkError> {
        let r = self.read_once(watch).await;
        if matches!(r, Err(ZkError::Read { .. } | ZkError::Connect { .. })) {
            self.client = None;
        }
        r
    }

    async fn read_once(&mut self, watch: bool) -> Result<(ConfFile, Option<Watch>), ZkError> {
        let client = self.connected().await?;
        let read_err = |why: String| ZkError::Read {
            hosts: self.hosts.clone(),
            path: self.path.clone(),
            why,
        };
        let answer = if watch {
            let r = tokio::time::timeout(READ_TIMEOUT, client.get_and_watch_data(&self.path)).await;
            r.map(|r| r.map(|(data, _, w)| (data, Some(w))))
        } else {
            let r = tokio::time::timeout(READ_TIMEOUT, client.get_data(&self.path)).await;
            r.map(|r| r.map(|(data, _)| (data, None)))
        };
        let (data, watcher) = match answer {
            Err(_) => {
                return Err(read_err(format!(
                    "no answer within {} s",
                    READ_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(zk::Error::NoNode)) => {
                return Err(ZkError::NoNode {
                    hosts: self.hosts.clone(),
                    path: self.path.clone(),
                })
            }
            Ok(Err(e)) => return Err(read_err(e.to_string())),
            Ok(Ok(got)) => got,
        };
        let text = self.text(data)?;
        let watch: Option<Watch> = watcher.map(|w| -> Watch {
            Box::pin(async move {
                let event = w.changed().await;
                tracing::debug!(?event, "ZooKeeper watch fired");
            })
        });
        let file = ConfFile {
            name: format!("zk:{}", self.path),
            text,
        };
        Ok((file, watch))
    }

    fn text(&self, data: Vec<u8>) -> Result<String, ZkError> {
        if data.len() > CONF_BYTES_MAX {
            return Err(ZkError::Data {
                path: self.path.clone(),
                why: format!("{} bytes, over the {CONF_BYTES_MAX} read", data.len()),
            });
        }
        String::from_utf8(data).map_err(|_| ZkError::Data {
            path: self.path.clone(),
            why: "the data is not UTF-8 text".to_owned(),
        })
    }

    async fn connected(&mut self) -> Result<zk::Client, ZkError> {
        if self.client.is_none() {
            let connect = zk::Client::connector()
                .with_session_timeout(CONNECT_TIMEOUT)
                .with_connection_timeout(CONNECT_TIMEOUT)
                .with_fail_eagerly()
                .connect(&self.hosts);
            let err = |why: String| ZkError::Connect {
                hosts: self.hosts.clone(),
                why,
            };
            let client = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                Err(_) => {
                    return Err(err(format!(
                        "no session within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    )))
                }
                Ok(Err(e)) => return Err(err(e.to_string())),
                Ok(Ok(c)) => c,
            };
            self.client = Some(client);
        }
        self.client.clone().ok_or_else(|| ZkError::Connect {
            hosts: self.hosts.clone(),
            why: "no session".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_znode_is_base_slash_agent_with_flumes_default_base() {
        assert_eq!(
            ZkSource::new("h:2181", None, "a1").unwrap().path(),
            "/flume/a1"
        );
        assert_eq!(
            ZkSource::new("h:2181", Some("/conf/"), "a1")
                .unwrap()
                .path(),
            "/conf/a1"
        );
        assert!(matches!(
            ZkSource::new("h:2181", Some("conf"), "a1"),
            Err(ZkError::BadBase { .. })
        ));
    }
}
