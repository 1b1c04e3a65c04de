//! Arguments every channel subcommand shares: where the channel lives (its directories, or
//! the agent's properties file with `-f/-n/-c`) and extra keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sluice_core::FileChannelConfig;

use super::agent_conf::channel_props;
use crate::cli::exit::Usage;

/// Where the channel is, and any other channel key as `--set key=value`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ChannelArgs {
    /// The agent's properties file: the channel's directories and every other key
    /// (`encryption.*` included) are read from it (with `-n` and `-c`).
    #[arg(
        short = 'f',
        long = "conf-file",
        requires = "name",
        requires = "channel"
    )]
    pub conf_file: Option<PathBuf>,
    /// The agent's name in `--conf-file`.
    #[arg(short = 'n', long = "name", requires = "conf_file")]
    pub name: Option<String>,
    /// The channel's name in `--conf-file`.
    #[arg(short = 'c', long = "channel", requires = "conf_file")]
    pub channel: Option<String>,
    /// The channel's checkpoint directory (Flume's `checkpointDir`; overrides the file's).
    #[arg(long, required_unless_present = "conf_file")]
    pub checkpoint_dir: Option<String>,
    /// Comma-separated data directories (Flume's `dataDirs`; overrides the file's).
    #[arg(long, required_unless_present = "conf_file")]
    pub data_dirs: Option<String>,
    /// Any other file-channel key, e.g. `--set capacity=100000` (repeatable; overrides the
    /// file's).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ChannelArgs {
    /// The channel's keys: the file's (with `-f`), then the directories and `--set`s given.
    pub fn properties(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut props = match (&self.conf_file, &self.name, &self.channel) {
            (Some(f), Some(n), Some(c)) => channel_props(f, n, c)?,
            _ => BTreeMap::new(),
        };
        if let Some(c) = &self.checkpoint_dir {
            props.insert("checkpointDir".to_owned(), c.clone());
        }
        if let Some(d) = &self.data_dirs {
            props.insert("dataDirs".to_owned(), d.clone());
        }
        for kv in &self.set {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(Usage(format!("--set {kv:?}: expected KEY=VALUE")).into());
            };
            props.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        Ok(props)
    }

    /// The channel configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<FileChannelConfig> {
        config_of(&self.properties()?, self.source().as_deref())
    }

    /// Where the keys came from, for messages (`FILE, channel c1 of agent a1`).
    fn source(&self) -> Option<String> {
        let (f, n, c) = (
            self.conf_file.as_ref()?,
            self.name.as_ref()?,
            self.channel.as_ref()?,
        );
        Some(format!("{}, channel {c} of agent {n}", f.display()))
    }
}

/// The configuration of `props`; an error names the key (`--set KEY` without a file).
pub fn config_of(
    props: &BTreeMap<String, String>,
    source: Option<&str>,
) -> anyhow::Result<FileChannelConfig> {
    let (config, warnings) = FileChannelConfig::from_properties(props).map_err(|e| {
        let at = source.map_or_else(String::new, |s| format!(" ({s})"));
        Usage(format!("invalid channel configuration{at}: {e}"))
    })?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config.with_key_provider(&sluice_keystore::key_source()))
}
