//! `sluice config check`'s spool step: a TAILDIR source keeps rotated-away files by hard
//! links in its spool (`<positionFile dir>/.taildir-spool`), and a hard link cannot cross
//! file systems (`EXDEV`). The agent finds that only at its first link, at run time, and then
//! keeps such files by open descriptors only, which a `kill -9` loses. This step compares the
//! device (`st_dev`) of the spool's directory with each file group's directory, each path
//! taken at its nearest existing ancestor (neither need exist before the agent's first
//! start), and warns for every group on another file system, naming `positionFile`, both
//! paths and both devices.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sluice::agent::registry::SourceKind;
use sluice::agent::topology::AgentConfig;

/// The device of `path`, or of its nearest existing ancestor, and the path whose device it
/// is; `None` when no ancestor can be read.
fn device_of(path: &Path) -> Option<(u64, PathBuf)> {
    let mut at = Some(path);
    while let Some(p) = at {
        if let Ok(m) = std::fs::metadata(p) {
            return Some((m.dev(), p.to_path_buf()));
        }
        at = p.parent().filter(|q| !q.as_os_str().is_empty());
    }
    std::fs::metadata(".")
        .ok()
        .map(|m| (m.dev(), PathBuf::from(".")))
}

/// Warns (on stdout, `FILE: <agent>.sources.<s>.positionFile: warning: ...`) about every
/// TAILDIR file group whose directory is on another file system than its source's spool;
/// returns how many warnings were printed.
pub fn run(config: &AgentConfig, file: &str) -> usize {
    let mut warned = 0;
    for (name, src) in &config.sources {
        let SourceKind::Taildir(t) = &src.kind else {
            continue;
        };
        if t.spool_bytes == 0 {
            continue;
        }
        let spool = t.spool_dir();
        let Some((spool_dev, spool_at)) = device_of(&spool) else {
            continue;
        };
        for g in &t.filegroups {
            let Some((dev, at)) = device_of(&g.dir) else {
                continue;
            };
            if dev == spool_dev {
                continue;
            }
            warned += 1;
            println!(
                "{file}: {}.sources.{name}.positionFile: warning: the TAILDIR spool {} \
                 (device {spool_dev:#x}, at {}) is on another file system than \
                 filegroups.{}'s directory {} (device {dev:#x}, at {}): no hard link can be \
                 made there, so rotated files would be kept by open descriptors only and lost \
                 at a kill -9; put positionFile on the logs' file system, or set spoolBytes = 0 \
                 to turn the spool off",
                config.name,
                spool.display(),
                spool_at.display(),
                g.name,
                g.dir.display(),
                at.display(),
            );
        }
    }
    warned
}
