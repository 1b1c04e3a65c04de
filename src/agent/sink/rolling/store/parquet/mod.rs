//! `serializer = parquet` on any [`Store`] (HDFS, S3, a local `hdfs.path`): a store in front
//! of the sink's own that stages the rows of each open file on the agent's local disk and
//! hands the store each Parquet file whole, at roll (docs/parquet.md).
//!
//! A Parquet file is readable only once its footer is written, and neither HDFS nor S3 can
//! cut one back, so the engine's files are the staged rows ([`crate::agent::sink::rolling::parquet::stage`],
//! the engine's [`Layout::Rows`]): [`Store::create`] opens `<staging>/open/<in-use path>`
//! through [`LocalStore`], appends and syncs go there (each batch fsynced before its take
//! commits, as for a local file) and the exactly-once cursor counts their bytes.
//! [`Store::publish`] (a roll) writes the Parquet file from them (`<staging>/build/<path>`),
//! hands it to the store under the in-use name (HDFS: create, write, close; S3: staged,
//! then one upload, multipart when large), publishes it under its final name (over one a
//! crash left: the same rows again), and only then moves the rows to
//! `<staging>/rows/<final path>` ([`finish`]). So a final name only ever holds a whole
//! file.
//!
//! The rows of a published file are kept until no take of them can still be open
//! ([`KEEP_ROWS_BATCHES`] delivered batches later, or that many after the next start): a cut
//! back to a cursor taken before the roll ([`Store::cut_published`]) cuts them and writes the
//! file again from them. At start an in-use file (its rows in `open/`, or a copy in the
//! store's in-use name that a kill left mid-upload) is finished from its rows within the
//! cursor's length ([`Store::recover`]); the store's in-use copy without rows (S3: a whole
//! file queued for upload) is the store's to recover, kept whole.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::local::{create_dirs_durably, LocalStore};
use super::{DirEntry, Recovered, Store, StoreFile, ToRecover};
use crate::agent::sink::rolling::format::Layout;
use crate::agent::sink::rolling::group_sync::GROUP_SYNC_DEPTH;
use crate::agent::sink::rolling::parquet::ParquetSpec;
use sluice_core::io::Fs;

mod finish;

/// Batches delivered after a file's roll before its staged rows are removed: the takes a
/// sink keeps open ([`GROUP_SYNC_DEPTH`]) and two more.
pub const KEEP_ROWS_BATCHES: u64 = GROUP_SYNC_DEPTH as u64 + 2;

/// A store's files written as Parquet from rows staged on local disk (see the module docs).
#[derive(Debug)]
pub struct ParquetStore {
    inner: Arc<dyn Store>,
    fs: Arc<dyn Fs>,
    local: LocalStore,
    staging: PathBuf,
    spec: ParquetSpec,
    /// `hdfs.inUsePrefix` and `hdfs.inUseSuffix`: a file written again is handed over
    /// under its in-use name first.
    in_use: (String, String),
    kept: Mutex<Kept>,
}

/// The rows of published files, kept for a cut back.
#[derive(Debug, Default)]
struct Kept {
    /// Local rows files, with the batches delivered when their file was published.
    rolled: Vec<(PathBuf, u64)>,
    /// Batches delivered.
    delivered: u64,
    /// Whether the rows left by an earlier run were counted in.
    swept: bool,
}

/// A layout that keeps every byte: a whole Parquet file the store recovers as it is.
const WHOLE: Layout = Layout::Stream {
    with_headers: false,
    newline: false,
    codec: None,
    keep_id: false,
};

impl ParquetStore {
    /// `inner`'s files as Parquet, rows staged below `staging` on `fs`; `in_use`: the
    /// in-use prefix and suffix.
    pub fn new(
        inner: Arc<dyn Store>,
        fs: Arc<dyn Fs>,
        staging: PathBuf,
        spec: ParquetSpec,
        in_use: (String, String),
    ) -> ParquetStore {
        ParquetStore {
            inner,
            local: LocalStore::new(fs.clone()),
            fs,
            staging,
            spec,
            in_use,
            kept: Mutex::default(),
        }
    }

    fn under(&self, part: &str, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.staging.join(part).join(rel)
    }

    /// The staged rows of the open file `in_use`.
    fn open_of(&self, in_use: &Path) -> PathBuf {
        self.under("open", in_use)
    }

    /// The kept rows of the published file `target`.
    fn rows_of(&self, target: &Path) -> PathBuf {
        self.under("rows", target)
    }

    /// Where the Parquet file of `target` is written before it is handed over.
    fn build_of(&self, target: &Path) -> PathBuf {
        self.under("build", target)
    }

    /// The in-use name of `target`.
    fn in_use_of(&self, target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        target.with_file_name(format!("{}{name}{}", self.in_use.0, self.in_use.1))
    }

    /// Counts the rows left by an earlier run in (removed [`KEEP_ROWS_BATCHES`] batches on)
    /// and removes the Parquet files a kill left half built.
    fn sweep(&self, kept: &mut Kept) {
        let mut found = Vec::new();
        let rows = self.staging.join("rows");
        let walked = crate::agent::sink::rolling::recover::walk(&self.local, &rows, &mut |d, n| {
            found.push(d.join(n));
        });
        if let Err(e) = walked {
            tracing::warn!(dir = %rows.display(), error = %e, "listing the staged rows an earlier run left failed; they stay");
        }
        kept.rolled.extend(found.into_iter().map(|p| (p, 0)));
        let build = self.staging.join("build");
        let mut half = Vec::new();
        let _ = crate::agent::sink::rolling::recover::walk(&self.local, &build, &mut |d, n| {
            half.push(d.join(n));
        });
        for p in half {
            let _ = self.local.remove(&p);
        }
    }
}

impl Store for ParquetStore {
    fn mkdirs(&self, dir: &Path) -> io::Result<()> {
        self.inner.mkdirs(dir)?;
        create_dirs_durably(self.fs.as_ref(), &self.open_of(dir))
    }

    fn shares_syncs(&self) -> bool {
        // The open files are local files; the driver's pipeline follows the store's answer.
        self.inner.shares_syncs()
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        if self.fs.exists(&self.open_of(path)) || self.fs.exists(&self.rows_of(path)) {
            return Ok(true);
        }
        self.inner.exists(path)
    }

    fn name_taken(&self, path: &Path) -> io::Result<bool> {
        if self.fs.exists(&self.open_of(path)) {
            return Ok(true);
        }
        self.inner.name_taken(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StoreFile>> {
        self.local.create(&self.open_of(path))
    }

    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.finish(&self.open_of(from), from, to, None).map(|_| ())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = match self.inner.list_dir(dir) {
            Ok(v) => Some(v),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        match self.local.list_dir(&self.open_of(dir)) {
            Ok(local) => {
                let all = out.get_or_insert_with(Vec::new);
                for e in local {
                    if !all.iter().any(|a| a.name == e.name) {
                        all.push(e);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        out.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} does not exist", dir.display()),
            )
        })
    }

    fn recover(&self, f: ToRecover<'_>) -> io::Result<Recovered> {
        let open = self.open_of(f.in_use);
        let rows = self.rows_of(f.target);
        for staged in [open, rows] {
            if self.fs.exists(&staged) {
                let r = self.finish(&staged, f.in_use, f.target, f.limit)?;
                tracing::info!(from = %f.in_use.display(), to = %f.target.display(), kept_bytes = r.kept, cut_bytes = r.cut, rows = %staged.display(), "recovered an in-use file: its Parquet file written from the staged rows and handed over");
                return Ok(r);
            }
        }
        if self.inner.defers_publish() {
            // A whole Parquet file the store had not uploaded yet.
            return self.inner.recover(ToRecover {
                layout: WHOLE,
                limit: None,
                ..f
            });
        }
        let len = self.inner.len(f.in_use).unwrap_or(0);
        tracing::warn!(path = %f.in_use.display(), staging = %self.staging.display(), "an in-use Parquet file without its staged rows (the staging directory was lost?): removed, it was never whole");
        self.inner.remove(f.in_use)?;
        Ok(Recovered::removed(f.in_use, len))
    }

    fn describe(&self) -> String {
        format!(
            "{} (Parquet rows staged in {})",
            self.inner.describe(),
            self.staging.display()
        )
    }

    fn skips_unrecoverable(&self) -> bool {
        self.inner.skips_unrecoverable()
    }

    fn defers_publish(&self) -> bool {
        self.inner.defers_publish()
    }

    fn admit(&self, need: u64) -> io::Result<()> {
        self.inner.admit(need)
    }

    fn cuts_back(&self) -> bool {
        true
    }

    fn cut_published(&self, path: &Path, len: u64) -> io::Result<u64> {
        let rows = self.rows_of(path);
        if !self.fs.exists(&rows) {
            // Removed once no take of its rows could be open: all of them committed.
            return Ok(0);
        }
        if self.local.len(&rows)? <= len && self.inner.exists(path)? {
            return Ok(0);
        }
        Ok(self
            .finish(&rows, &self.in_use_of(path), path, Some(len))?
            .cut)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        for local in [self.open_of(path), self.rows_of(path)] {
            if self.fs.exists(&local) {
                self.local.remove(&local)?;
            }
        }
        if self.inner.exists(path)? {
            self.inner.remove(path)?;
        }
        Ok(())
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        for local in [self.open_of(path), self.rows_of(path)] {
            if self.fs.exists(&local) {
                return self.local.len(&local);
            }
        }
        self.inner.len(path)
    }

    fn list_published(&self, root: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list_published(root)
    }

    fn probe(&self) -> io::Result<()> {
        self.inner.probe()
    }

    fn pause_background(&self) {
        self.inner.pause_background();
    }

    fn resume_background(&self) {
        self.inner.resume_background();
    }

    fn drain(&self, limit: Duration) {
        self.inner.drain(limit);
    }

    fn delivered(&self) {
        let done = {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            if !std::mem::replace(&mut kept.swept, true) {
                self.sweep(&mut kept);
            }
            kept.delivered += 1;
            let now = kept.delivered;
            let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut kept.rolled)
                .into_iter()
                .partition(|(_, at)| now - at > KEEP_ROWS_BATCHES);
            kept.rolled = keep;
            done
        };
        for (path, _) in done {
            match self.local.remove(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "removing a rolled Parquet file's staged rows failed; the next start removes them");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
