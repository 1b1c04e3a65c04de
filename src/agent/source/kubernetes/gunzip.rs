//! A rotated container log that kubelet gzipped before the source read it to its end (the
//! source was down, or killed): its content is found again in the `.gz` beside it and written
//! whole, uncompressed, to the copy the tailer then reads on from the saved position
//! (`taildir/tailer/copies.rs`). So nothing of it is lost and, the copy's bytes being the
//! file's bytes at the same offsets, nothing is sent twice.
//!
//! Which `.gz` holds it: the saved name's own `<name>.gz` first (the file was rotated under
//! that name before the stop), then every other `<restart>.log.<time>.gz` of the same
//! container and restart, newest first (the live file the position named was rotated and then
//! compressed while the source was down). A candidate is taken only when it is at least as
//! long as the saved position and, when the position's fingerprint was saved, holds the same
//! bytes before it; without a fingerprint only the saved name's own `.gz` is taken. Only
//! files under `podLogsDir` are looked at, never through a symbolic link, and a `.gz` is read
//! to at most [`UNCOMPRESSED_BYTES_MAX`].

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::agent::nofollow;
use crate::agent::source::taildir::fingerprint::{self, Fingerprint};
use crate::agent::source::taildir::position::PosEntry;

/// Most bytes one `.gz` is uncompressed to (kubelet rotates at `containerLogMaxSize`,
/// 10 MiB by default; a larger one is not a container log's).
pub(crate) const UNCOMPRESSED_BYTES_MAX: u64 = 4 << 30;

/// Writes the content of the file `saved` names into `into` when a `.gz` under `root` holds
/// it (see the module docs); whether it did.
pub(crate) fn uncompress(
    root: &Path,
    saved: &PosEntry,
    fp: Option<&Fingerprint>,
    into: &Path,
) -> bool {
    let file = PathBuf::from(&saved.file);
    if !file.starts_with(root) || file.components().any(|c| c.as_os_str() == "..") {
        return false;
    }
    for gz in candidates(&file, fp.is_some()) {
        match try_one(&gz, saved, fp, into) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(file = %gz.display(), error = %e, "cannot read a compressed container log");
            }
        }
        crate::agent::source::taildir::spool::unlink(into);
    }
    false
}

/// The `.gz` files that may hold `file`'s content, most likely first.
fn candidates(file: &Path, any: bool) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let mut out = vec![dir.join(format!("{name}.gz"))];
    if !any {
        return out;
    }
    let Some(restart) = name.split('.').next() else {
        return out;
    };
    let prefix = format!("{restart}.log.");
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".gz") && *n != format!("{name}.gz"))
        .collect();
    others.sort_unstable_by(|a, b| b.cmp(a));
    out.extend(others.into_iter().map(|n| dir.join(n)));
    out
}

/// Uncompresses `gz` into `into` (fsynced) and checks it against the saved position.
fn try_one(
    gz: &Path,
    saved: &PosEntry,
    fp: Option<&Fingerprint>,
    into: &Path,
) -> std::io::Result<bool> {
    let src = match nofollow::open_read(gz) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) if nofollow::link_refused(&e).is_some() => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut out = nofollow::create_fresh(into)?;
    let mut dec = flate2::read::GzDecoder::new(src).take(UNCOMPRESSED_BYTES_MAX);
    let n = std::io::copy(&mut dec, &mut out)?;
    out.flush()?;
    out.sync_all()?;
    if n < saved.pos {
        return Ok(false);
    }
    match fp {
        Some(fp) => fingerprint::still_matches(fp, &File::open(into)?),
        None => Ok(true),
    }
}
