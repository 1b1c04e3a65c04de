//! File channel directories that would collide at start: a `checkpointDir` equal to, inside
//! or containing a `dataDirs` entry, or two channels sharing (or nesting) directories. Each
//! channel locks its directories, so such a configuration would pass and then fail to start
//! with "in use by another Sluice channel or process"; `config check` names both lines
//! instead. Paths are compared canonicalised; a directory that does not exist yet is
//! canonicalised through its nearest existing ancestor.

use std::path::{Component, Path, PathBuf};

use super::graph::AgentConfig;
use crate::agent::config::raw::{RawAgent, Section};
use crate::agent::config::{Origin, Problem};
use crate::agent::registry::ChannelKind;

/// One configured directory.
struct Dir {
    channel: String,
    key: &'static str,
    origin: Origin,
    full_key: String,
    written: PathBuf,
    canonical: PathBuf,
}

/// `path` made absolute and canonical as far as it exists, with the rest appended
/// (`.` dropped, `..` applied lexically).
pub(crate) fn canonical_dir(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut existing = abs.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                match Path::new(part).components().next() {
                    Some(Component::ParentDir) => {
                        out.pop();
                    }
                    Some(Component::CurDir) | None => {}
                    Some(_) => out.push(part),
                }
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// How two canonical paths relate, if they collide.
fn relation(a: &Path, b: &Path) -> Option<&'static str> {
    if a == b {
        Some("is the same directory as")
    } else if a.starts_with(b) {
        Some("is inside")
    } else if b.starts_with(a) {
        Some("contains")
    } else {
        None
    }
}

/// Adds an error for every pair of colliding file channel directories.
pub(crate) fn check(raw: &RawAgent, cfg: &AgentConfig, problems: &mut Vec<Problem>) {
    let mut dirs: Vec<Dir> = Vec::new();
    for rc in raw.section(Section::Channels) {
        let Some(ChannelKind::File(fc)) = cfg.channels.get(&rc.name).map(|c| &c.kind) else {
            continue;
        };
        let mut add = |key: &'static str, p: &Path| {
            dirs.push(Dir {
                channel: rc.name.clone(),
                key,
                origin: rc.origin_of(key),
                full_key: rc.full_key(key),
                written: p.to_path_buf(),
                canonical: canonical_dir(p),
            })
        };
        add("checkpointDir", &fc.checkpoint_dir);
        if fc.use_dual_checkpoints {
            if let Some(b) = &fc.backup_checkpoint_dir {
                add("backupCheckpointDir", b);
            }
        }
        for d in &fc.data_dirs {
            add("dataDirs", d);
        }
    }
    for (i, a) in dirs.iter().enumerate() {
        for b in &dirs[i + 1..] {
            let Some(rel) = relation(&b.canonical, &a.canonical) else {
                continue;
            };
            let whose = if a.channel == b.channel {
                String::new()
            } else {
                format!(" of channel {}", a.channel)
            };
            problems.push(Problem::error(
                b.origin,
                b.full_key.clone(),
                format!(
                    "{} {rel} {} {}{whose} ({}); each channel needs directories of its own",
                    b.written.display(),
                    a.key,
                    a.written.display(),
                    match a.origin {
                        Origin::Line(n) => format!("line {n}"),
                        o @ Origin::FileLine { .. } => format!("line {o}"),
                        Origin::CommandLine => "set with -D".to_owned(),
                    },
                ),
            ));
        }
    }
}
