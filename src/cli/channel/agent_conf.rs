//! `-f FILE -n AGENT -c CHANNEL` of the channel tools: one file channel's keys read from the
//! agent's properties file as the agent reads them (`${...}` and filters resolved), so a
//! tool takes the channel's directories and `encryption.*` from the file it runs with.

use std::collections::BTreeMap;
use std::path::Path;

use sluice::agent::config::read;
use sluice::agent::config::Severity;
use sluice_core::{IGNORED_KEYS, KNOWN_KEYS};

use crate::cli::conf_files;
use crate::cli::exit::Usage;

/// Flume's class name for the file channel (its `type` may be this or `file`).
const FILE_CHANNEL_CLASS: &str = "org.apache.flume.channel.file.FileChannel";

/// The keys of channel `channel` of agent `agent` in `file`, without the prefix: the file
/// channel's keys only (`type` and keys of other components left out).
pub fn channel_props(
    file: &Path,
    agent: &str,
    channel: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let files = conf_files::read(&[file.to_path_buf()])?;
    let names = conf_files::names(&files);
    let res = read::resolve_files(&files, agent, &[]);
    let prefix = format!("{agent}.channels.{channel}.");
    if let Some(p) = res
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error && p.key.starts_with(&prefix))
    {
        return Err(Usage(conf_files::render(p, &names)).into());
    }
    let all: BTreeMap<&str, &str> = res
        .entries
        .iter()
        .filter_map(|(k, v, _)| Some((k.strip_prefix(&prefix)?, v.as_str())))
        .collect();
    let Some(kind) = all.get("type") else {
        let listed = res
            .entries
            .iter()
            .find(|(k, _, _)| *k == format!("{agent}.channels"))
            .map_or("none", |(_, v, _)| v.as_str());
        return Err(Usage(format!(
            "{}: agent {agent} has no channel {channel:?} ({prefix}type is not set); its channels: {listed}",
            file.display()
        ))
        .into());
    };
    if !(kind.eq_ignore_ascii_case("file") || *kind == FILE_CHANNEL_CLASS) {
        return Err(Usage(format!(
            "{}: {prefix}type is {kind:?}: the channel tools read file channels only",
            file.display()
        ))
        .into());
    }
    Ok(all
        .into_iter()
        .filter(|(k, _)| {
            KNOWN_KEYS.contains(k) || IGNORED_KEYS.contains(k) || k.starts_with("encryption.")
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}
