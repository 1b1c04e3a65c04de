//! A reload must not strand events: a file channel that holds events (queued or taken by an
//! open transaction) keeps them in its directories, so a reload that gives it other
//! `dataDirs` or another `checkpointDir` (compared after resolving the paths: relative to
//! the working directory, symbolic links followed where the directory exists), or makes it
//! another type, would open an empty channel and leave them behind. Such a reload is
//! refused, whole ([`refusal`]); an empty file channel may move (nothing is left behind).

use std::path::{Path, PathBuf};

use crate::agent::channel::{AgentChannel, AgentChannelError};
use crate::agent::registry::ChannelKind;
use crate::agent::topology::ChannelConfig;

/// Why replacing the running channel `name` (opened with `running`) by `new` would strand
/// the events it holds, or `None` when it would not.
pub(crate) fn refusal(
    name: &str,
    running: &ChannelConfig,
    channel: &dyn AgentChannel,
    new: &ChannelConfig,
) -> Option<AgentChannelError> {
    let ChannelKind::File(old) = &running.kind else {
        return None;
    };
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
    let ChannelKind::File(new_cfg) = &new.kind else {
        return Some(moved("type", "file".into(), new_type(&new.kind).into()));
    };
    if resolved_set(&old.data_dirs) != resolved_set(&new_cfg.data_dirs) {
        return Some(moved(
            "dataDirs",
            shown(&old.data_dirs),
            shown(&new_cfg.data_dirs),
        ));
    }
    if resolve(&old.checkpoint_dir) != resolve(&new_cfg.checkpoint_dir) {
        return Some(moved(
            "checkpointDir",
            old.checkpoint_dir.display().to_string(),
            new_cfg.checkpoint_dir.display().to_string(),
        ));
    }
    None
}

fn new_type(kind: &ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Memory(_) => "memory",
        ChannelKind::File(_) => "file",
        ChannelKind::Kafka(_) => "kafka",
    }
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
