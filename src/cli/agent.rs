//! `sluice agent`: runs an agent from a Flume properties file.

use std::path::PathBuf;

/// Arguments of `sluice agent`.
#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    /// The agent name (the first part of every key).
    #[arg(short = 'n', long = "name")]
    pub name: String,
    /// The properties file.
    #[arg(short = 'f', long = "conf-file")]
    pub conf_file: PathBuf,
    /// Configuration directory (accepted for Flume compatibility; unused).
    #[arg(short = 'c', long = "conf")]
    pub conf_dir: Option<PathBuf>,
    /// Do not poll the file for changes.
    #[arg(long = "no-reload-conf")]
    pub no_reload_conf: bool,
    /// `-Dkey=value`: `flume.root.logger`, `flume.monitoring.*`, or `<agent>.<key>` overrides.
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

/// Runs the subcommand.
pub fn run(_args: AgentArgs) -> anyhow::Result<i32> {
    anyhow::bail!("sluice agent: under construction")
}
