//! Where `sluice agent` reads its configuration: local files (`-f`, repeated), URIs
//! (`--conf-uri`, repeated, with `--conf-user`/`--conf-password` and `--backup-directory`,
//! as Flume 1.11), or ZooKeeper (`-z`/`-p`). The agent loop asks it for the files at start,
//! again on SIGHUP and `POST /reload` (every source read again), and at each poll tick (only
//! what changed: file stamps, `If-Modified-Since`); a ZooKeeper watch wakes it by itself
//! ([`Provider::changed`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sluice::agent::conf_source::backup;
use sluice::agent::conf_source::http::{Fetched, UriSource};
use sluice::agent::conf_source::zk::{Watch, ZkSource};
use sluice::agent::config::ConfFile;

use crate::cli::conf_files::{self, Stamps};
use crate::cli::exit;

/// The `-i` default for files and for URIs (Flume's `DEFAULT_FILE_INTERVAL` and
/// `DEFAULT_INTERVAL`).
pub const POLL_FILES_S: u64 = 30;
/// The `-i` default when the configuration comes from http(s) URIs.
pub const POLL_URIS_S: u64 = 300;

/// The configuration's sources.
pub enum Provider {
    /// Local files and their last stamps.
    Files {
        /// The `-f` paths, in order.
        paths: Vec<PathBuf>,
        /// What the last read saw.
        stamps: Stamps,
    },
    /// URIs, the last text each answered, and the backup directory.
    Uris(Uris),
    /// A ZooKeeper znode, the text last read and the pending watch.
    Zk(Zk),
}

/// The `-z`/`-p` state.
pub struct Zk {
    source: ZkSource,
    text: Option<String>,
    watch: Option<Watch>,
    watching: bool,
}

/// How long after a failed ZooKeeper read the next one is tried.
pub const ZK_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The `--conf-uri` state.
pub struct Uris {
    agent: String,
    sources: Vec<UriSource>,
    texts: Vec<Option<String>>,
    /// A poll read a new text but could not read every URI: apply at the next good poll.
    unapplied: bool,
    backup_dir: Option<PathBuf>,
}

/// The URI options of `sluice agent`, checked.
pub struct UriArgs<'a> {
    /// `--conf-uri`, in order.
    pub uris: &'a [String],
    /// `--conf-user` and `--conf-password`.
    pub basic: Option<(&'a str, &'a str)>,
    /// `--backup-directory`.
    pub backup_dir: Option<&'a Path>,
}

impl Provider {
    /// Local files.
    pub fn files(paths: Vec<PathBuf>) -> Provider {
        Provider::Files {
            stamps: conf_files::stamps(&paths),
            paths,
        }
    }

    /// URIs (checked here: a bad one is a usage error).
    pub fn uris(agent: &str, a: UriArgs<'_>) -> anyhow::Result<Provider> {
        let sources = a
            .uris
            .iter()
            .map(|u| UriSource::new(u, a.basic).map_err(|e| exit::Usage(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Provider::Uris(Uris {
            agent: agent.to_owned(),
            texts: vec![None; sources.len()],
            unapplied: false,
            sources,
            backup_dir: a.backup_dir.map(Path::to_owned),
        }))
    }

    /// The znode `BASE/AGENT` at `hosts`, watched unless `watching` is off
    /// (`--no-reload-conf`).
    pub fn zk(
        hosts: &str,
        base: Option<&str>,
        agent: &str,
        watching: bool,
    ) -> anyhow::Result<Provider> {
        let source = ZkSource::new(hosts, base, agent).map_err(|e| exit::Usage(e.to_string()))?;
        Ok(Provider::Zk(Zk {
            source,
            text: None,
            watch: None,
            watching,
        }))
    }

    /// The `-i` default.
    pub fn poll_default_s(&self) -> u64 {
        match self {
            Provider::Files { .. } | Provider::Zk(_) => POLL_FILES_S,
            Provider::Uris(_) => POLL_URIS_S,
        }
    }

    /// Whether the `-i` poll applies (ZooKeeper is watched instead).
    pub fn polls(&self) -> bool {
        !matches!(self, Provider::Zk(_))
    }

    /// Resolves when the ZooKeeper watch fired (or, after a failed read, when it is time to
    /// read again); pending forever for files and URIs. Cancel safe: the watch is kept.
    pub async fn changed(&mut self) {
        let Provider::Zk(z) = self else {
            return std::future::pending().await;
        };
        match z.watch.as_mut() {
            Some(w) => {
                w.await;
                z.watch = None;
            }
            None if z.watching => tokio::time::sleep(ZK_RETRY).await,
            None => std::future::pending().await,
        }
    }

    /// The first file, whose directory holds `plugins.d` when `-c` is not given.
    pub fn first_file(&self) -> Option<&Path> {
        match self {
            Provider::Files { paths, .. } => paths.first().map(PathBuf::as_path),
            Provider::Uris(_) | Provider::Zk(_) => None,
        }
    }

    /// The configuration at start: every source read; for URIs, the backup when one cannot
    /// be read (an error when there is none).
    pub async fn initial(&mut self) -> anyhow::Result<Vec<ConfFile>> {
        match self {
            Provider::Files { .. } => self.reread().await,
            Provider::Uris(u) => match u.fetch_all(false).await {
                Ok(files) => Ok(files),
                Err(e) => u.or_backup(e),
            },
            Provider::Zk(z) => z.read().await,
        }
    }

    /// Every source read again (SIGHUP, `POST /reload`).
    pub async fn reread(&mut self) -> anyhow::Result<Vec<ConfFile>> {
        match self {
            Provider::Files { paths, stamps } => {
                *stamps = conf_files::stamps(paths);
                let paths = paths.clone();
                tokio::task::spawn_blocking(move || conf_files::read(&paths)).await?
            }
            Provider::Uris(u) => u.fetch_all(false).await,
            Provider::Zk(z) => z.read().await,
        }
    }

    /// A poll tick: the configuration when a source changed, `None` when none did. A URI
    /// that cannot be read is logged and leaves the running configuration as it is.
    pub async fn poll(&mut self) -> anyhow::Result<Option<Vec<ConfFile>>> {
        match self {
            Provider::Files { paths, stamps } => {
                let now = conf_files::stamps(paths);
                if !conf_files::changed(stamps, &now) {
                    return Ok(None);
                }
                *stamps = now;
                let paths = paths.clone();
                let files = tokio::task::spawn_blocking(move || conf_files::read(&paths)).await?;
                files.map(Some)
            }
            Provider::Uris(u) => {
                let before = u.texts.clone();
                match u.fetch_all(true).await {
                    Ok(files) if u.texts != before || std::mem::take(&mut u.unapplied) => {
                        Ok(Some(files))
                    }
                    Ok(_) => Ok(None),
                    Err(e) => {
                        // A URI that answered with a new text before another failed is
                        // not asked again (304 from now on): remember to apply it.
                        u.unapplied |= u.texts != before;
                        tracing::warn!(error = %format!("{e:#}"), "polling the configuration URIs; the running configuration stays");
                        Ok(None)
                    }
                }
            }
            Provider::Zk(z) => {
                let before = z.text.clone();
                match z.read().await {
                    Ok(files) if z.text != before => Ok(Some(files)),
                    Ok(_) => Ok(None),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), retry_s = ZK_RETRY.as_secs(), "reading the configuration from ZooKeeper; the running configuration stays");
                        Ok(None)
                    }
                }
            }
        }
    }

    /// A configuration that loaded without errors: kept as the backup (URIs with
    /// `--backup-directory`); a failure to write it is logged.
    pub fn good(&self, files: &[ConfFile]) {
        let Provider::Uris(u) = self else { return };
        let Some(dir) = &u.backup_dir else { return };
        if files
            .iter()
            .any(|f| f.name == backup::path(dir, &u.agent).display().to_string())
        {
            return;
        }
        match backup::write(dir, &u.agent, &backup::text(files)) {
            Ok(p) => tracing::debug!(file = %p.display(), "configuration backup written"),
            Err(e) => tracing::warn!(error = %e, "cannot write the configuration backup"),
        }
    }
}

impl Zk {
    /// Reads the znode and sets the next watch.
    async fn read(&mut self) -> anyhow::Result<Vec<ConfFile>> {
        let (file, watch) = self.source.read(self.watching).await?;
        self.watch = watch;
        self.text = Some(file.text.clone());
        Ok(vec![file])
    }
}

impl Uris {
    /// Fetches every URI (conditionally on a poll); the texts in order, each URI's last
    /// text standing for a 304.
    async fn fetch_all(&mut self, conditional: bool) -> anyhow::Result<Vec<ConfFile>> {
        for (i, s) in self.sources.iter_mut().enumerate() {
            let conditional = conditional && self.texts.get(i).is_some_and(Option::is_some);
            match s.fetch(conditional).await? {
                Fetched::Text(t) => {
                    if let Some(slot) = self.texts.get_mut(i) {
                        *slot = Some(t);
                    }
                }
                Fetched::NotModified => {}
            }
        }
        self.sources
            .iter()
            .zip(&self.texts)
            .map(|(s, t)| {
                let text = t
                    .clone()
                    .with_context(|| format!("{}: answered 304 to a first request", s.name()))?;
                Ok(ConfFile {
                    name: s.name().to_owned(),
                    text,
                })
            })
            .collect()
    }

    /// The backup in place of URIs that cannot be read at start; the fetch error when
    /// there is none.
    fn or_backup(&self, e: anyhow::Error) -> anyhow::Result<Vec<ConfFile>> {
        let Some(dir) = &self.backup_dir else {
            return Err(
                e.context("reading the configuration (no --backup-directory to fall back on)")
            );
        };
        match backup::read(dir, &self.agent)? {
            Some(f) => {
                tracing::warn!(error = %format!("{e:#}"), backup = %f.name, "cannot read the configuration URIs; starting from the backup");
                Ok(vec![f])
            }
            None => Err(e.context(format!(
                "reading the configuration (and no backup {} yet)",
                backup::path(dir, &self.agent).display()
            ))),
        }
    }
}
