//! Recognises an Apache Flume file channel's directories before Sluice touches them. Flume's
//! on-disk format is not Sluice's: pointed at a Flume channel, replay would stop at the first
//! segment with "bad magic" and say nothing useful. Flume leaves files Sluice never writes
//! (`checkpoint.meta`, `inflightputs`, `inflighttakes`, `queueset/` beside its checkpoint;
//! `log-N.meta` beside every data file), so their presence names the channel for what it is
//! and says what to do: adopt it (`sluice channel adopt`, or `adoptFlumeChannel = true`),
//! or let Flume drain it and give Sluice new directories. An adoption's unfinished state file
//! refuses the channel too: a half-adopted channel never runs.

use std::path::{Path, PathBuf};

use super::config::FileChannelConfig;
use super::error::ChannelError;
use crate::io::Fs;

/// The file an unfinished adoption leaves in the target checkpoint directory
/// (`sluice-flume`'s `adopt`): while it is there, the channel is refused.
pub const ADOPT_STATE: &str = "adopt.state";

/// Files only Flume writes in a checkpoint directory.
const FLUME_CHECKPOINT_FILES: [&str; 4] = [
    "checkpoint.meta",
    "inflightputs",
    "inflighttakes",
    "queueset",
];

/// Whether `name` is a Flume data file's metadata (`log-<digits>.meta`).
fn is_flume_log_meta(name: &str) -> bool {
    name.strip_prefix("log-")
        .and_then(|rest| rest.strip_suffix(".meta"))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The Flume files in `dir` (at most three named), or none. A directory that does not exist
/// or cannot be listed holds none: the caller reports that itself.
fn flume_files(fs: &dyn Fs, dir: &Path, checkpoint: bool) -> Vec<String> {
    let Ok(names) = fs.list_dir(dir) else {
        return Vec::new();
    };
    names
        .into_iter()
        .filter(|n| {
            is_flume_log_meta(n) || (checkpoint && FLUME_CHECKPOINT_FILES.contains(&n.as_str()))
        })
        .take(3)
        .collect()
}

/// Refuses a configuration whose checkpoint or data directories hold a Flume file channel
/// ([`ChannelError::FlumeChannel`]); changes nothing.
pub(crate) fn refuse_flume_channel(
    fs: &dyn Fs,
    config: &FileChannelConfig,
) -> Result<(), ChannelError> {
    if fs.exists(&config.checkpoint_dir.join(ADOPT_STATE)) {
        return Err(ChannelError::AdoptionInterrupted {
            dir: config.checkpoint_dir.clone(),
        });
    }
    let mut dirs: Vec<(&PathBuf, bool)> = vec![(&config.checkpoint_dir, true)];
    if let Some(b) = &config.backup_checkpoint_dir {
        dirs.push((b, true));
    }
    dirs.extend(config.data_dirs.iter().map(|d| (d, false)));
    for (dir, checkpoint) in dirs {
        let found = flume_files(fs, dir, checkpoint);
        if !found.is_empty() {
            return Err(ChannelError::FlumeChannel {
                dir: dir.clone(),
                found: found.join(", "),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_flume_log_meta;

    #[test]
    fn flume_log_meta_names() {
        assert!(is_flume_log_meta("log-1.meta"));
        assert!(is_flume_log_meta("log-12345.meta"));
        assert!(!is_flume_log_meta("log-1"));
        assert!(!is_flume_log_meta("log-.meta"));
        assert!(!is_flume_log_meta("log-1.meta.tmp"));
        assert!(!is_flume_log_meta("log-0000000001"));
    }
}
