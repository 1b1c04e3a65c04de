//! The configuration files of `sluice agent`, `config check` and `test`: `-f` may be given
//! several times (as Flume 1.10's `--conf-file`); the files are read in order and a key a
//! later file sets replaces the earlier value (`sluice::agent::config::files`). Problems name
//! the file and line their key came from.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use sluice::agent::config::files::FILES_MAX;
use sluice::agent::config::{ConfFile, Problem};

use crate::cli::exit;

/// Reads every file, in order; a file that cannot be read is an error naming it.
pub fn read(paths: &[PathBuf]) -> anyhow::Result<Vec<ConfFile>> {
    if paths.len() > FILES_MAX {
        return Err(exit::Usage(format!(
            "{} configuration files given (-f); at most {FILES_MAX}",
            paths.len()
        ))
        .into());
    }
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(ConfFile {
                name: p.display().to_string(),
                text,
            })
        })
        .collect()
}

/// The files' names in reading order, for `Problem::render_in`.
pub fn names(files: &[ConfFile]) -> Vec<String> {
    files.iter().map(|f| f.name.clone()).collect()
}

/// `FILE:LINE: key: message`, the file being the one the key came from.
pub fn render(p: &Problem, names: &[String]) -> String {
    p.render_in(names)
}

/// What the `-i` poll compares: each file's modification time and length (`None` for a
/// file that cannot be read now).
pub type Stamps = Vec<Option<(SystemTime, u64)>>;

/// The files' current [`Stamps`].
pub fn stamps(paths: &[PathBuf]) -> Stamps {
    paths.iter().map(|p| stamp(p)).collect()
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Whether the poll should read the files again: some file changed, and every file can be
/// read (one that is being replaced is read at the next poll).
pub fn changed(before: &Stamps, now: &Stamps) -> bool {
    now != before && now.iter().all(Option::is_some)
}
