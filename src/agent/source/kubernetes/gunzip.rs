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
//!
//! Files kubelet created, rotated and gzipped entirely while the source was down (a
//! container that wrote `containerLogMaxSize` twice over meanwhile) were never seen under a
//! name: [`unseen`] names them, the `.gz` files of the same container and restart rotated
//! after the newest one that held a saved live file's content, and [`whole`] uncompresses
//! each into a copy read from its start. Such a copy's events carry ids under an origin
//! derived from the `.gz`'s name and content ([`whole`]), so the same file uncompressed
//! again (a kill before its position was saved, or a start that finds it again) gives the
//! same ids and the file channel drops what it delivered before. So are the `.gz` files of a
//! pod or container directory made while the source was down ([`of_new_dirs`]: made after
//! the source last gave a file an origin), with no saved position to start from.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::agent::nofollow;
use crate::agent::source::taildir::fingerprint::{self, Fingerprint};
use crate::agent::source::taildir::position::PosEntry;

/// Most bytes one `.gz` is uncompressed to (kubelet rotates at `containerLogMaxSize`,
/// 10 MiB by default; a larger one is not a container log's).
pub(crate) const UNCOMPRESSED_BYTES_MAX: u64 = 4 << 30;

/// Writes the content of the file `saved` names into `into` when a `.gz` under `root` holds
/// it (see the module docs); the `.gz` that did.
pub(crate) fn uncompress(
    root: &Path,
    saved: &PosEntry,
    fp: Option<&Fingerprint>,
    into: &Path,
) -> Option<PathBuf> {
    let file = PathBuf::from(&saved.file);
    if !under(root, &file) {
        return None;
    }
    for gz in candidates(&file, fp.is_some()) {
        match try_one(&gz, saved, fp, into) {
            Ok(true) => return Some(gz),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(file = %gz.display(), error = %e, "cannot read a compressed container log");
            }
        }
        crate::agent::source::taildir::spool::unlink(into);
    }
    None
}

/// Whether `file` lies under `root` without a `..` step.
fn under(root: &Path, file: &Path) -> bool {
    file.starts_with(root) && !file.components().any(|c| c.as_os_str() == "..")
}

/// The `.gz` files rotated after those in `held` that held a live file's content (see the
/// module docs): for each container directory and restart in `held`, the ones whose
/// rotation time (in the name) is later than the newest held, oldest first.
pub(crate) fn unseen(root: &Path, held: &[PathBuf]) -> Vec<PathBuf> {
    let mut newest: std::collections::BTreeMap<(PathBuf, String), String> = Default::default();
    for gz in held.iter().filter(|g| under(root, g)) {
        let (Some(dir), Some(name)) = (gz.parent(), gz.file_name().and_then(|n| n.to_str())) else {
            continue;
        };
        let Some(restart) = name.split('.').next() else {
            continue;
        };
        let e = newest
            .entry((dir.to_path_buf(), format!("{restart}.log.")))
            .or_default();
        if name > e.as_str() {
            *e = name.to_owned();
        }
    }
    let mut out = Vec::new();
    for ((dir, prefix), after) in newest {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| n.starts_with(&prefix) && n.ends_with(".gz") && *n > after)
            .collect();
        names.sort_unstable();
        out.extend(names.into_iter().map(|n| dir.join(n)));
    }
    out
}

/// The `.gz` files (`<restart>.log.<time>.gz`) of the container directories in `dirs`
/// (under `root`) that were made after `since`, when the source gave its last origin before
/// this start: a pod, or a container, that came and was rotated and gzipped while the source
/// was down, none of whose lines was sent (every batch's origin is saved before it leaves).
/// Ordered by restart, then by rotation time. A directory whose birth time the file system
/// does not tell is left out.
pub(crate) fn of_new_dirs(root: &Path, dirs: &[PathBuf], since: SystemTime) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs.iter().filter(|d| under(root, d)) {
        let born = std::fs::symlink_metadata(dir)
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .and_then(|m| m.created().ok());
        if born.is_none_or(|b| b <= since) {
            continue;
        }
        let mut names: Vec<(u64, String)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter_map(|n| {
                let (restart, rest) = n.split_once('.')?;
                let restart = restart.parse().ok()?;
                (rest.starts_with("log.") && rest.ends_with(".gz")).then_some((restart, n))
            })
            .collect();
        names.sort_unstable();
        out.extend(names.into_iter().map(|(_, n)| dir.join(n)));
    }
    out
}

/// Uncompresses all of `gz` (under `root`) into `into` (fsynced); the origin of the copy's
/// event ids: the first 8 bytes of a SHA-256 of the `.gz`'s path and uncompressed content.
pub(crate) fn whole(root: &Path, gz: &Path, into: &Path) -> std::io::Result<u64> {
    if !under(root, gz) {
        return Err(std::io::Error::other("not under podLogsDir"));
    }
    let src = nofollow::open_read(gz)?;
    let mut out = nofollow::create_fresh(into)?;
    let mut dec = flate2::read::GzDecoder::new(src).take(UNCOMPRESSED_BYTES_MAX);
    let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
    sha.update(b"sluice unseen gz\0");
    sha.update(gz.as_os_str().as_encoded_bytes());
    sha.update(b"\0");
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = dec.read(&mut buf)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        sha.update(chunk);
        out.write_all(chunk)?;
    }
    out.flush()?;
    out.sync_all()?;
    let d = sha.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(d.as_ref().get(..8).unwrap_or(&[1; 8]));
    Ok(u64::from_be_bytes(first).max(1))
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use std::time::SystemTime;

    use super::{of_new_dirs, unseen, whole};

    fn gz(path: &Path, content: &[u8]) {
        let f = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        enc.write_all(content).unwrap();
        enc.finish().unwrap();
    }

    #[test]
    fn unseen_files_are_the_later_gz_of_the_same_container_and_restart_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let c = root.join("ns_pod_uid/app");
        let other = root.join("ns_pod_uid/sidecar");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        for n in [
            "0.log.20240101-000001.gz",
            "0.log.20240101-000002.gz",
            "0.log.20240101-000004.gz",
            "0.log.20240101-000003.gz",
            "0.log.20240101-000005",
            "1.log.20240101-000009.gz",
        ] {
            std::fs::write(c.join(n), b"x").unwrap();
        }
        std::fs::write(other.join("0.log.20240101-000007.gz"), b"x").unwrap();
        let held = [
            c.join("0.log.20240101-000002.gz"),
            c.join("0.log.20240101-000001.gz"),
        ];
        assert_eq!(
            unseen(root, &held),
            [
                c.join("0.log.20240101-000003.gz"),
                c.join("0.log.20240101-000004.gz")
            ]
        );
        assert!(unseen(root, &[]).is_empty());
        let outside = tempfile::tempdir().unwrap();
        assert!(
            unseen(outside.path(), &held).is_empty(),
            "only under podLogsDir"
        );
    }

    #[test]
    fn the_gz_of_directories_made_after_the_last_origin_are_named_by_restart_then_time() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let old = root.join("ns_old_uid/app");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("0.log.20240101-000001.gz"), b"x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let since = SystemTime::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let new = root.join("ns_new_uid/app");
        std::fs::create_dir_all(&new).unwrap();
        for n in [
            "10.log.20240101-000001.gz",
            "2.log.20240101-000003.gz",
            "2.log.20240101-000002.gz",
            "2.log.20240101-000004",
            "2.log",
            "x.log.20240101-000005.gz",
        ] {
            std::fs::write(new.join(n), b"x").unwrap();
        }
        if std::fs::symlink_metadata(&new)
            .and_then(|m| m.created())
            .is_err()
        {
            return; // no birth times on this file system: nothing is named
        }
        let dirs = [old.clone(), new.clone()];
        assert_eq!(
            of_new_dirs(root, &dirs, since),
            [
                new.join("2.log.20240101-000002.gz"),
                new.join("2.log.20240101-000003.gz"),
                new.join("10.log.20240101-000001.gz"),
            ]
        );
        assert!(
            of_new_dirs(root, &dirs, SystemTime::now()).is_empty(),
            "nothing made after"
        );
        let outside = tempfile::tempdir().unwrap();
        assert!(
            of_new_dirs(outside.path(), &dirs, since).is_empty(),
            "only under podLogsDir"
        );
    }

    #[test]
    fn a_whole_copy_holds_the_content_and_its_origin_follows_name_and_content() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let (a, b) = (root.join("0.log.1.gz"), root.join("0.log.2.gz"));
        gz(&a, b"line one\nline two\n");
        gz(&b, b"line one\nline two\n");
        let into = root.join("copy");
        let first = whole(root, &a, &into).unwrap();
        assert_eq!(std::fs::read(&into).unwrap(), b"line one\nline two\n");
        std::fs::remove_file(&into).unwrap();
        assert_eq!(
            whole(root, &a, &into).unwrap(),
            first,
            "the same file again"
        );
        std::fs::remove_file(&into).unwrap();
        assert_ne!(whole(root, &b, &into).unwrap(), first, "another name");
        std::fs::remove_file(&into).unwrap();
        gz(&a, b"line one\nline 2\n");
        assert_ne!(whole(root, &a, &into).unwrap(), first, "other content");
        assert!(whole(Path::new("/nowhere"), &a, &root.join("c2")).is_err());
    }
}
