//! Exactly-once output for `file_roll`'s flat layout (docs/exactly-once.md): after each batch the sink hands
//! its runner a **cursor**, the file and its length, which the take commits with it in the file
//! channel. At start the sink gets the last committed cursor back and cuts its output to it:
//! the file is truncated to that length and the files this sink opened after it are removed.
//! Everything cut was written by batches whose takes never committed, so the channel gives
//! those events again and they are written once.
//!
//! The cursor is `LENGTH<TAB>PATH` (UTF-8). A cursor naming another directory (the sink was
//! moved) is ignored. Two sinks must not share a directory and `pathManager.prefix`; a file
//! is this sink's only when the rest of its name has the shape of its series ([`Series`]), so
//! a prefix that begins another's does not take the other's files.
//!
//! Which files come after the cursor's ([`After`]): a name that sorts after the cursor's
//! (a higher counter in its series, or a later series) **and** that was last written after the
//! cursor's file (the kernel's clock, read before the cut). The same run's later files always
//! are; a coarse `ROLLTIME` pattern (`yyyyMMdd`) shares one series among the runs of a day,
//! each numbering its files from 1 again where names are free, so a higher number there is
//! not enough either. Names alone are not time: `ROLLTIME` names are the local time
//! of day, which a change of daylight saving time sets back an hour, and an older pattern, a
//! prefix whose series is not a number or one of another length sorts anywhere. A file such a
//! name would put after the cursor but that was written before it is committed output, and is
//! kept.
//!
//! No link is followed (the store's opens are `O_NOFOLLOW`): the cursor's file swapped for a
//! symbolic link while the agent was down fails the start, naming the link, and cuts nothing;
//! a link under a later name is not a file this sink wrote and is left as it is.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::agent::sink::rolling::parquet::{STAGED_SUFFIX, TMP_SUFFIX};
use crate::agent::sink::rolling::store::Store;

/// How a flat sink names its files: `<prefix><series>-<counter>[.<extension>]` (Flume's
/// file_roll path managers).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlatNames<'a> {
    /// `sink.pathManager.prefix`.
    pub prefix: &'a str,
    /// `sink.pathManager.extension`, without the dot; empty for none.
    pub extension: &'a str,
    /// What its series looks like.
    pub series: Series<'a>,
}

/// The series part of a flat sink's names: what tells its files from those of a sink whose
/// prefix starts with this one's (an empty prefix beside `web-`: `web-1764...-1` is not
/// this sink's series `web-1764...`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Series<'a> {
    /// `DEFAULT`: the start in epoch millis, 13 digits (from 2001 to 2286; a sink with prefix
    /// `ev` beside one with `ev2` sees `ev21764...-1` as the 14 digits `21764...`).
    Millis,
    /// `ROLLTIME`: a time in this chrono format; a series is this sink's when it has the
    /// shape of one (digits where the format writes digits, letters where it writes letters,
    /// the same other characters).
    Pattern(&'a str),
}

impl Series<'_> {
    /// Whether `series` could be one of these.
    fn admits(&self, series: &str) -> bool {
        match self {
            Series::Millis => series.len() == 13 && series.bytes().all(|b| b.is_ascii_digit()),
            Series::Pattern(p) => {
                let like = chrono::Local::now().format(p).to_string();
                like.len() == series.len()
                    && like.bytes().zip(series.bytes()).all(|(l, s)| {
                        (l.is_ascii_digit() && s.is_ascii_digit())
                            || (l.is_ascii_alphabetic() && s.is_ascii_alphabetic())
                            || l == s
                    })
            }
        }
    }
}

impl<'a> FlatNames<'a> {
    /// The names `pm` makes.
    pub(crate) fn of(pm: &'a super::PathManager) -> Self {
        FlatNames {
            prefix: &pm.prefix,
            extension: &pm.extension,
            series: if pm.roll_time {
                Series::Pattern(&pm.pattern)
            } else {
                Series::Millis
            },
        }
    }
}

/// The cursor of `path` at `len` bytes.
pub(crate) fn encode(path: &Path, len: u64) -> Option<Vec<u8>> {
    Some(format!("{len}\t{}", path.to_str()?).into_bytes())
}

/// The file and length a cursor names.
pub(crate) fn decode(cursor: &[u8]) -> Option<(PathBuf, u64)> {
    let text = std::str::from_utf8(cursor).ok()?;
    let (len, path) = text.split_once('\t')?;
    Some((PathBuf::from(path), len.parse().ok()?))
}

/// The order of a file these names made: (series, counter), the series compared as a
/// number when it is one. `None` for a name they did not make.
pub(crate) fn order_of(pm: &FlatNames<'_>, name: &str) -> Option<(u128, String, u64)> {
    let rest = name.strip_prefix(pm.prefix)?;
    let rest = if pm.extension.is_empty() {
        rest
    } else {
        rest.strip_suffix(pm.extension)?.strip_suffix('.')?
    };
    let (series, counter) = rest.rsplit_once('-')?;
    if !pm.series.admits(series) {
        return None;
    }
    let counter = counter.parse().ok()?;
    Some((series.parse().unwrap_or(0), series.to_owned(), counter))
}

/// Which files come after a cursor's file (see the module docs).
#[derive(Debug)]
pub(crate) struct After {
    mark: (u128, String, u64),
    /// When the cursor's file was last written, read before any cut; `None` where the
    /// store does not say (or the file is gone): then names alone decide.
    written: Option<SystemTime>,
}

impl After {
    /// The order of the cursor's file `path` (named `name`); `None` for a name these names
    /// did not make.
    pub(crate) fn of(
        store: &dyn Store,
        pm: &FlatNames<'_>,
        path: &Path,
        name: &str,
    ) -> std::io::Result<Option<After>> {
        let Some(mark) = order_of(pm, name) else {
            return Ok(None);
        };
        let mut written = match store.modified(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if written.is_none() {
            // A Parquet cursor names the staged rows, removed once its file was written (at a
            // roll, or by an earlier start): that file was written after the rows' last
            // batch, so files written before it are committed output too.
            if let Some(done) = path
                .to_str()
                .and_then(|p| p.strip_suffix(STAGED_SUFFIX))
                .map(Path::new)
            {
                written = match store.modified(done) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
            }
        }
        Ok(Some(After { mark, written }))
    }

    /// The cursor file's order by name.
    pub(crate) fn mark(&self) -> &(u128, String, u64) {
        &self.mark
    }

    /// Whether the file `name` at `path` comes after the cursor's.
    pub(crate) fn holds(
        &self,
        store: &dyn Store,
        pm: &FlatNames<'_>,
        name: &str,
        path: &Path,
    ) -> std::io::Result<bool> {
        let Some(o) = order_of(pm, name) else {
            return Ok(false);
        };
        if o <= self.mark {
            return Ok(false);
        }
        // Even in the cursor's series: a coarse `ROLLTIME` pattern (`yyyyMMdd`) gives every run
        // of a day one series, and a run numbers its files from 1 again, skipping only the
        // names still there; a higher number there may be an earlier run's committed file.
        let Some(cursor) = self.written else {
            return Ok(true);
        };
        // Strictly before: a file system's clock ticks coarsely (a few ms), and a file opened
        // and written in the tick of the cursor file's last write came after it.
        match store.modified(path) {
            Ok(Some(t)) if t < cursor => {
                tracing::warn!(path = %path.display(), "a file whose name sorts after the last committed one was written before it (local time set back, or another naming): kept as committed output");
                Ok(false)
            }
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// What [`cut_back`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CutBack {
    /// Bytes cut from the end of the cursor's file.
    pub truncated: u64,
    /// Files opened after it, removed, with their sizes.
    pub removed: Vec<(PathBuf, u64)>,
    /// Bytes the cursor counts that the file no longer has (written without fsync and lost).
    pub missing: u64,
}

/// Cuts `dir`'s output back to the cursor `(file, len)` (see the module docs), through the
/// local store: the file cut and synced, each later file removed and its directory synced.
pub(crate) fn cut_back(
    store: &dyn Store,
    dir: &Path,
    pm: &FlatNames<'_>,
    file: &Path,
    len: u64,
) -> std::io::Result<CutBack> {
    let mut done = CutBack::default();
    let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
        return Ok(done);
    };
    let Some(after) = After::of(store, pm, file, name)? else {
        return Ok(done);
    };
    match store.len(file) {
        Ok(size) if size > len => done.truncated = store.cut_published(file, len)?,
        Ok(size) => done.missing = len - size,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => done.missing = len,
        Err(e) => return Err(e),
    }
    for entry in store.list_dir(dir)? {
        let path = dir.join(&entry.name);
        if !entry.is_dir && after.holds(store, pm, &entry.name, &path)? {
            let size = match store.len(&path) {
                Ok(size) => size,
                // A symlink under one of this sink's names: not a file it wrote.
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        || sluice_core::io::link_refused(&e).is_some() =>
                {
                    tracing::warn!(path = %path.display(), error = %e, "a later name of this sink is not a file it wrote; left as it is");
                    continue;
                }
                Err(e) => return Err(e),
            };
            store.remove(&path)?;
            done.removed.push((path, size));
        }
    }
    Ok(done)
}

/// The file a baseline cursor names (`<prefix><series>-0[.ext]`, length 0: before every
/// file of the series), so a cut back to it removes every file this sink opens after it; `None`
/// when a file of these names in `dir` (or a Parquet file's staged rows or half-written file)
/// already comes after it (a clock set back), which that cut back would remove too.
pub(crate) fn baseline(
    store: &dyn Store,
    dir: &Path,
    pm: &FlatNames<'_>,
    first: &str,
) -> std::io::Result<Option<PathBuf>> {
    let Some(mark) = order_of(pm, first) else {
        return Ok(None);
    };
    let entries = match store.list_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    // A Parquet file's staged rows and half-written file count under its final name.
    let final_name = |name: &'_ str| -> String {
        let name = name.strip_suffix(TMP_SUFFIX).unwrap_or(name);
        name.strip_suffix(STAGED_SUFFIX).unwrap_or(name).to_owned()
    };
    if entries
        .iter()
        .any(|entry| order_of(pm, &final_name(&entry.name)).is_some_and(|o| o >= mark))
    {
        return Ok(None);
    }
    Ok(Some(dir.join(first)))
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "the tests lay out and read a directory on the real disk"
)]
mod tests {
    use super::*;
    use sluice_core::io::StdFs;
    use std::sync::Arc;

    fn pm<'a>(prefix: &'a str, extension: &'a str) -> FlatNames<'a> {
        FlatNames {
            prefix,
            extension,
            series: Series::Millis,
        }
    }

    /// `ROLLTIME` names of `pattern`.
    fn rolltime<'a>(prefix: &'a str, extension: &'a str, pattern: &'a str) -> FlatNames<'a> {
        FlatNames {
            prefix,
            extension,
            series: Series::Pattern(pattern),
        }
    }

    #[test]
    fn a_sink_does_not_take_the_files_of_a_sink_whose_prefix_starts_with_its_own() {
        // `web-1764...-1` is not the empty prefix's series `web-1764...`, nor is `ev21764...`
        // the series `21764...` of prefix `ev`.
        assert_eq!(order_of(&pm("", "log"), "web-1764000000001-1.log"), None);
        assert_eq!(order_of(&pm("ev", "log"), "ev21764000000001-1.log"), None);
        assert_eq!(
            order_of(&pm("app", "log"), "app2-1764000000001-1.log"),
            None
        );
        assert!(order_of(&pm("", "log"), "1764000000001-1.log").is_some());
        assert!(order_of(&pm("ev", "log"), "ev1764000000001-1.log").is_some());
        let day = rolltime("", "parquet", "%Y-%m-%d");
        assert_eq!(order_of(&day, "web-2026-11-01-1.parquet"), None);
        assert_eq!(order_of(&day, "2026-11-01x-1.parquet"), None);
        assert!(order_of(&day, "2026-11-01-3.parquet").is_some());
    }

    #[test]
    fn the_cursor_round_trips() {
        let c = encode(Path::new("/out/1700000000000-3.log"), 42).unwrap();
        assert_eq!(
            decode(&c),
            Some((PathBuf::from("/out/1700000000000-3.log"), 42))
        );
        assert_eq!(decode(b"x\t/out/a"), None);
    }

    #[test]
    fn cut_back_truncates_the_file_and_removes_only_later_files_of_this_sink() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pm = pm("ev-", "log");
        for (name, body) in [
            ("ev-1764000001000-1.log", "old\n"),
            ("ev-1764000001000-2.log", "committed\nnot committed\n"),
            ("ev-1764000001000-3.log", "later\n"),
            ("ev-1764000002000-1.log", "a later run\n"),
            ("other-1764000009999-9.log", "another sink\n"),
            ("notes.txt", "a user's file\n"),
        ] {
            std::fs::write(d.join(name), body).unwrap();
        }
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(StdFs));
        let done = cut_back(
            store.as_ref(),
            d,
            &pm,
            &d.join("ev-1764000001000-2.log"),
            10,
        )
        .unwrap();
        assert_eq!(done.truncated, 14);
        assert_eq!(done.removed.len(), 2);
        assert_eq!(
            std::fs::read_to_string(d.join("ev-1764000001000-2.log")).unwrap(),
            "committed\n"
        );
        assert!(d.join("ev-1764000001000-1.log").exists());
        assert!(!d.join("ev-1764000001000-3.log").exists());
        assert!(!d.join("ev-1764000002000-1.log").exists());
        assert!(d.join("other-1764000009999-9.log").exists());
        assert!(d.join("notes.txt").exists());
        let short = cut_back(
            store.as_ref(),
            d,
            &pm,
            &d.join("ev-1764000001000-1.log"),
            10,
        )
        .unwrap();
        assert_eq!(short.missing, 6);
    }

    #[test]
    fn a_dangling_symlink_under_a_later_name_is_left_and_does_not_stop_the_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ev-1764000001000-1.log"), "committed\nnot\n").unwrap();
        std::fs::write(d.join("ev-1764000001000-3.log"), "later\n").unwrap();
        std::os::unix::fs::symlink(d.join("gone"), d.join("ev-1764000001000-2.log")).unwrap();
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(StdFs));
        let done = cut_back(
            store.as_ref(),
            d,
            &pm("ev-", "log"),
            &d.join("ev-1764000001000-1.log"),
            10,
        )
        .unwrap();
        assert_eq!(done.truncated, 4);
        assert_eq!(done.removed.len(), 1, "{:?}", done.removed);
        assert!(!d.join("ev-1764000001000-3.log").exists());
        assert!(d.join("ev-1764000001000-2.log").symlink_metadata().is_ok());
    }

    #[test]
    fn a_cursor_file_swapped_for_a_symlink_is_refused_by_name_and_its_target_is_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let victim = d.join("victim");
        let bytes = vec![b'v'; 1 << 20];
        std::fs::write(&victim, &bytes).unwrap();
        std::os::unix::fs::symlink(&victim, d.join("ev-1764000001000-1.log")).unwrap();
        std::os::unix::fs::symlink(&victim, d.join("ev-1764000001000-2.log")).unwrap();
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(StdFs));
        let e = cut_back(
            store.as_ref(),
            d,
            &pm("ev-", "log"),
            &d.join("ev-1764000001000-1.log"),
            1600,
        )
        .unwrap_err();
        let refused = sluice_core::io::link_refused(&e).map(|l| l.path.clone());
        assert_eq!(refused, Some(d.join("ev-1764000001000-1.log")), "{e}");
        assert!(std::fs::read(&victim).unwrap() == bytes, "victim cut");
        // A link under a later name is left, its target untouched.
        std::fs::remove_file(d.join("ev-1764000001000-1.log")).unwrap();
        std::fs::write(d.join("ev-1764000001000-1.log"), "committed\n").unwrap();
        cut_back(
            store.as_ref(),
            d,
            &pm("ev-", "log"),
            &d.join("ev-1764000001000-1.log"),
            10,
        )
        .unwrap();
        assert!(d.join("ev-1764000001000-2.log").symlink_metadata().is_ok());
        assert!(std::fs::read(&victim).unwrap() == bytes, "victim cut");
    }

    #[test]
    fn a_cut_back_to_the_baseline_removes_every_file_of_the_run_and_nothing_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pm = pm("ev-", "log");
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(StdFs));
        std::fs::write(d.join("ev-1764000001000-7.log"), "an earlier run\n").unwrap();
        std::fs::write(d.join("other-3000-1.log"), "another sink\n").unwrap();
        let base = baseline(store.as_ref(), d, &pm, "ev-1764000002000-0.log")
            .unwrap()
            .expect("nothing comes after the start");
        // The run writes two files, and crashes before its first take commits.
        std::fs::write(d.join("ev-1764000002000-1.log"), "uncommitted\n").unwrap();
        std::fs::write(d.join("ev-1764000002000-2.log"), "uncommitted\n").unwrap();
        let (file, len) = decode(&encode(&base, 0).unwrap()).unwrap();
        let done = cut_back(store.as_ref(), d, &pm, &file, len).unwrap();
        assert_eq!((done.removed.len(), done.missing), (2, 0));
        let mut left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["ev-1764000001000-7.log", "other-3000-1.log"]);
    }

    #[test]
    fn no_baseline_when_a_file_already_comes_after_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ev-1764000005000-1.log"),
            "a run whose clock was ahead\n",
        )
        .unwrap();
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(StdFs));
        let pm = pm("ev-", "log");
        assert_eq!(
            baseline(store.as_ref(), d, &pm, "ev-1764000002000-0.log").unwrap(),
            None
        );
        let missing = d.join("not-yet");
        assert_eq!(
            baseline(store.as_ref(), &missing, &pm, "ev-1764000002000-0.log").unwrap(),
            Some(missing.join("ev-1764000002000-0.log"))
        );
    }

    /// Writes `body` to a new file `name` in `/out` of `fs` (its modification time: now).
    fn put(fs: &sluice_core::io::SimFs, name: &str, body: &str) {
        use sluice_core::io::{Fs, OpenMode};
        let f = fs
            .open(&Path::new("/out").join(name), OpenMode::CreateNew)
            .unwrap();
        f.write_all_at(body.as_bytes(), 0).unwrap();
    }

    #[test]
    fn a_file_whose_name_sorts_after_the_cursor_but_was_written_before_it_is_kept() {
        use sluice_core::io::{Fs, OpenMode, SimFs};
        // ROLLTIME names (`yyyyMMddHHmm`, local time) through the autumn change of daylight
        // saving time: 01:59 comes, then 01:00 again. Before that, a run with DEFAULT names.
        let fs = SimFs::new(5);
        fs.create_dir_all(Path::new("/out")).unwrap();
        let pm = rolltime("ev-", "log", "%Y%m%d%H%M");
        put(
            &fs,
            "ev-1764000000000-5.log",
            "an older run, DEFAULT names\n",
        );
        put(
            &fs,
            "ev-202611010159-1.log",
            "committed at 01:59 summer time\n",
        );
        put(
            &fs,
            "ev-202611010100-1.log",
            "committed at 01:00 winter time\n",
        );
        put(&fs, "ev-202611010100-2.log", "committed\n");
        // The cursor: 10 bytes of -2. Then the run goes on, and is killed.
        let f = fs
            .open(Path::new("/out/ev-202611010100-2.log"), OpenMode::ReadWrite)
            .unwrap();
        f.write_all_at(b"not committed\n", 10).unwrap();
        put(&fs, "ev-202611010105-1.log", "not committed\n");
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(fs.clone()));
        let cursor = Path::new("/out/ev-202611010100-2.log");
        let done = cut_back(store.as_ref(), Path::new("/out"), &pm, cursor, 10).unwrap();
        assert_eq!(done.truncated, 14);
        let removed: Vec<_> = done.removed.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(removed, [PathBuf::from("/out/ev-202611010105-1.log")]);
        let left = fs.list_dir(Path::new("/out")).unwrap();
        assert_eq!(
            left,
            [
                "ev-1764000000000-5.log",
                "ev-202611010100-1.log",
                "ev-202611010100-2.log",
                "ev-202611010159-1.log"
            ],
            "the files written before the cursor's are committed output, whatever their names"
        );
    }

    #[test]
    fn a_higher_number_of_the_cursors_series_written_before_it_is_kept() {
        use sluice_core::io::{Fs, OpenMode, SimFs};
        // `ROLLTIME` with `yyyyMMdd`: one series per day. Run 1 wrote -1 to -5 and a consumer
        // took -1 to -4 away; run 2 of the same day numbers from 1 again and commits in -1.
        let fs = SimFs::new(7);
        fs.create_dir_all(Path::new("/out")).unwrap();
        put(&fs, "ev-20261101-5.log", "run 1, committed\n");
        put(&fs, "ev-20261101-1.log", "run 2, committed\n");
        let f = fs
            .open(Path::new("/out/ev-20261101-1.log"), OpenMode::ReadWrite)
            .unwrap();
        f.write_all_at(b"not committed\n", 17).unwrap();
        put(&fs, "ev-20261101-2.log", "run 2, not committed\n");
        let store = crate::agent::sink::rolling::store::on_fs(Arc::new(fs.clone()));
        let cursor = Path::new("/out/ev-20261101-1.log");
        let done = cut_back(
            store.as_ref(),
            Path::new("/out"),
            &rolltime("ev-", "log", "%Y%m%d"),
            cursor,
            17,
        )
        .unwrap();
        let removed: Vec<_> = done.removed.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(removed, [PathBuf::from("/out/ev-20261101-2.log")]);
        assert_eq!(
            fs.list_dir(Path::new("/out")).unwrap(),
            ["ev-20261101-1.log", "ev-20261101-5.log"]
        );
    }

    #[test]
    fn without_modification_times_names_alone_decide_as_before() {
        // A store that reports none (HDFS, S3): later by name is later.
        #[derive(Debug)]
        struct NoTimes(Arc<dyn Store>);
        impl Store for NoTimes {
            fn mkdirs(&self, d: &Path) -> std::io::Result<()> {
                self.0.mkdirs(d)
            }
            fn exists(&self, p: &Path) -> std::io::Result<bool> {
                self.0.exists(p)
            }
            fn create(
                &self,
                p: &Path,
            ) -> std::io::Result<Box<dyn crate::agent::sink::rolling::store::StoreFile>>
            {
                self.0.create(p)
            }
            fn publish(&self, a: &Path, b: &Path) -> std::io::Result<()> {
                self.0.publish(a, b)
            }
            fn list_dir(
                &self,
                d: &Path,
            ) -> std::io::Result<Vec<crate::agent::sink::rolling::store::DirEntry>> {
                self.0.list_dir(d)
            }
            fn recover(
                &self,
                f: crate::agent::sink::rolling::store::ToRecover<'_>,
            ) -> std::io::Result<crate::agent::sink::rolling::store::Recovered> {
                self.0.recover(f)
            }
            fn describe(&self) -> String {
                self.0.describe()
            }
            fn len(&self, p: &Path) -> std::io::Result<u64> {
                self.0.len(p)
            }
            fn remove(&self, p: &Path) -> std::io::Result<()> {
                self.0.remove(p)
            }
            fn cut_published(&self, p: &Path, len: u64) -> std::io::Result<u64> {
                self.0.cut_published(p, len)
            }
        }
        let fs = sluice_core::io::SimFs::new(6);
        use sluice_core::io::Fs;
        fs.create_dir_all(Path::new("/out")).unwrap();
        put(&fs, "ev-202611010159-1.log", "sorts after\n");
        put(&fs, "ev-202611010100-2.log", "committed\n");
        let store = NoTimes(crate::agent::sink::rolling::store::on_fs(Arc::new(
            fs.clone(),
        )));
        let cursor = Path::new("/out/ev-202611010100-2.log");
        let names = rolltime("ev-", "log", "%Y%m%d%H%M");
        let done = cut_back(&store, Path::new("/out"), &names, cursor, 10).unwrap();
        assert_eq!(done.removed.len(), 1);
    }
}
