//! The arguments of `sluice agent` (Flume's `flume-ng agent` options: `-n`, `-f`, `-u`, `-z`,
//! `-c`, `-C`, `-D`, ...) and the `-Dkey=value` defines they carry.

use std::path::PathBuf;

use crate::cli::plugins::JavaPluginArgs;

/// Arguments of `sluice agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// The agent name (the first part of every key).
    #[arg(short = 'n', long = "name")]
    pub name: String,
    /// The properties file; repeat for several, read in order: a key a later file sets
    /// replaces the earlier value (as Flume 1.10's `--conf-file`).
    #[arg(short = 'f', long = "conf-file", required_unless_present_any = ["conf_uri", "zk_hosts"],
          conflicts_with_all = ["conf_uri", "zk_hosts"])]
    pub conf_file: Vec<PathBuf>,
    /// An http:// or https:// URI to read the properties from (as Flume 1.11's `-u`); repeat
    /// for several, read in order. Polled every `-i` seconds (default 300) with
    /// `If-Modified-Since`.
    #[arg(short = 'u', long = "conf-uri", value_name = "URI")]
    pub conf_uri: Vec<String>,
    /// The user for Basic authentication at the `--conf-uri` (with `--conf-password`).
    #[arg(long = "conf-user", requires = "conf_password", requires = "conf_uri")]
    pub conf_user: Option<String>,
    /// The password for Basic authentication at the `--conf-uri` (with `--conf-user`).
    #[arg(long = "conf-password", requires = "conf_user")]
    pub conf_password: Option<String>,
    /// Where the last good configuration read from `--conf-uri` is kept
    /// (`DIR/.AGENT.properties`, replaced atomically), and read at start when a URI cannot be.
    #[arg(
        short = 'b',
        long = "backup-directory",
        value_name = "DIR",
        requires = "conf_uri"
    )]
    pub backup_dir: Option<PathBuf>,
    /// ZooKeeper servers (`host:port,...`, as Flume's `-z`): the properties are the data of
    /// the znode `BASE/AGENT`, watched for changes.
    #[arg(
        short = 'z',
        long = "zkConnString",
        value_name = "HOSTS",
        conflicts_with = "conf_uri"
    )]
    pub zk_hosts: Option<String>,
    /// The ZooKeeper base path (as Flume's `-p`; default `/flume`).
    #[arg(
        short = 'p',
        long = "zkBasePath",
        value_name = "PATH",
        requires = "zk_hosts"
    )]
    pub zk_base: Option<String>,
    /// Where Java plugins are found (`-c`, `-C`, `--plugins-path`).
    #[command(flatten)]
    pub plugins: JavaPluginArgs,
    /// Do not poll the files or URIs for changes (nor watch the ZooKeeper znode).
    #[arg(long = "no-reload-conf")]
    pub no_reload_conf: bool,
    /// Warnings are errors, as `config check --strict`: an unknown key (a typo) refuses the
    /// start, and a reload, instead of being logged and ignored (Flume's way, the default).
    #[arg(long = "strict")]
    pub strict: bool,
    /// Async worker threads (1 to 1024); default tokio's `TOKIO_WORKER_THREADS` when set,
    /// else one fewer than the CPUs available, at least 1 (commits and file I/O run on
    /// threads of their own beside them).
    #[arg(long = "worker-threads", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// Seconds between checks of the files (default 30) or URIs (default 300) for changes
    /// (1 to 86400).
    #[arg(short = 'i', long = "poll-interval",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub poll_interval: Option<u64>,
    /// `-Dkey=value`: `flume.root.logger=LEVEL[,console|LOGFILE|DRFA]`, `flume.log.dir`,
    /// `flume.log.file`, `flume.log.format=text|flume|json`, `flume.monitoring.*`, or
    /// `<agent>.<key>` overrides.
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,
}

/// Parses `key=value` of a `-D` option.
pub fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("expected -Dkey=value, got -D{s}")),
    }
}

/// The last `-Dkey=value` given for `key`.
pub(crate) fn define<'a>(args: &'a AgentArgs, key: &str) -> Option<&'a str> {
    args.defines
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
