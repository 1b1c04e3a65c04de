//! Arguments every channel subcommand shares: where the channel lives and extra keys.

use std::collections::BTreeMap;

use sluice_core::FileChannelConfig;

use crate::cli::exit::Usage;

/// Where the channel is, and any other channel key as `--set key=value`.
#[derive(clap::Args, Debug, Clone)]
pub struct ChannelArgs {
    /// The channel's checkpoint directory (Flume's `checkpointDir`).
    #[arg(long)]
    pub checkpoint_dir: String,
    /// Comma-separated data directories (Flume's `dataDirs`).
    #[arg(long)]
    pub data_dirs: String,
    /// Any other file-channel key, e.g. `--set capacity=100000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ChannelArgs {
    /// The channel configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<FileChannelConfig> {
        let mut props = BTreeMap::new();
        props.insert("checkpointDir".to_owned(), self.checkpoint_dir.clone());
        props.insert("dataDirs".to_owned(), self.data_dirs.clone());
        for kv in &self.set {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(Usage(format!("--set {kv:?}: expected KEY=VALUE")).into());
            };
            props.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        let (config, warnings) = FileChannelConfig::from_properties(&props)
            .map_err(|e| Usage(format!("invalid channel configuration: {e}")))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        Ok(config)
    }
}
