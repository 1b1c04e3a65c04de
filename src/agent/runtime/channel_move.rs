//! A reload must not strand events: a channel that holds events (queued or taken by an open
//! transaction) in directories (its `BuildChannel::event_home`: the file channel's), so a
//! reload that gives it other
//! `dataDirs` or another `checkpointDir` (compared after resolving the paths: relative to
//! the working directory, symbolic links followed where the directory exists), or makes it
//! another type, would open an empty channel and leave them behind. Such a reload is
//! refused, whole ([`refusal`]); an empty file channel may move (nothing is left behind).

use std::path::{Path, PathBuf};

use crate::agent::channel::{AgentChannel, AgentChannelError};
use crate::agent::topology::ChannelConfig;

/// Why replacing the running channel `name` (opened with `running`) by `new` would strand
/// the events it holds, or `None` when it would not.
pub(crate) fn refusal(
    name: &str,
    running: &ChannelConfig,
    channel: &dyn AgentChannel,
    new: &ChannelConfig,
) -> Option<AgentChannelError> {
    let (old_data, old_checkpoint) = running.kind.builder().event_home()?;
    let events = channel
        .file_stats()
        .map_or(0, |s| s.queued.saturating_add(s.in_flight_takes));
    if events == 0 {
        return None;
    }
    let moved = |key: &'static str, from: String, to: String| AgentChannelError::Moved {
        channel: name.to_owned(),
        key,
        from,
        to,
        events,
    };
    let (old_type, new_type) = (running.kind.type_name(), new.kind.type_name());
    let Some((new_data, new_checkpoint)) = new.kind.builder().event_home() else {
        return Some(moved("type", old_type.into(), new_type.into()));
    };
    if old_type != new_type {
        return Some(moved("type", old_type.into(), new_type.into()));
    }
    if resolved_set(old_data) != resolved_set(new_data) {
        return Some(moved("dataDirs", shown(old_data), shown(new_data)));
    }
    if resolve(old_checkpoint) != resolve(new_checkpoint) {
        return Some(moved(
            "checkpointDir",
            old_checkpoint.display().to_string(),
            new_checkpoint.display().to_string(),
        ));
    }
    None
}

/// `p` made absolute, with symbolic links followed when it exists (else `.` and `..`
/// folded by name).
fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn resolved_set(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = dirs.iter().map(|d| resolve(d)).collect();
    v.sort();
    v.dedup();
    v
}

fn shown(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving_makes_relative_and_dotted_paths_compare_equal() {
        let here = std::env::current_dir().unwrap_or_default();
        assert_eq!(
            resolved_set(&[PathBuf::from("x/../y")]),
            resolved_set(&[here.join("y")])
        );
        assert_eq!(
            resolved_set(&[PathBuf::from("/a"), PathBuf::from("/b")]),
            resolved_set(&[PathBuf::from("/b"), PathBuf::from("/a")])
        );
    }
}
