//! A staged file's Parquet file, written and handed to the store whole: the rows (the first
//! `limit` bytes of whole records) written as `<staging>/build/<path>`
//! ([`crate::agent::sink::rolling::parquet::convert`]), copied to the store under the in-use
//! name (a copy a kill left there replaced), closed and published under the final name (over
//! a file of that name: a crash's, holding these rows or more), then the rows moved to
//! `<staging>/rows/<path>` and cut to what the file holds. Every step may be repeated after a
//! kill: the start finishes from the rows again (docs/parquet.md).

use std::io;
use std::path::Path;

use super::ParquetStore;
use crate::agent::sink::rolling::parquet::convert;
use crate::agent::sink::rolling::store::local::create_dirs_durably;
use crate::agent::sink::rolling::store::{Recovered, Store, StoreFile};
use sluice_core::io::OpenMode;

/// Bytes of the built Parquet file handed to the store per append.
const COPY_CHUNK_BYTES: usize = 4 * 1024 * 1024;

impl ParquetStore {
    /// Writes and hands over the Parquet file of the staged rows `source` (see the module
    /// docs): `in_use` is its name in the store until published as `target`.
    pub(super) fn finish(
        &self,
        source: &Path,
        in_use: &Path,
        target: &Path,
        limit: Option<u64>,
    ) -> io::Result<Recovered> {
        let size = self.local.len(source)?;
        let build = self.build_of(target);
        if let Some(dir) = build.parent() {
            create_dirs_durably(self.fs.as_ref(), dir)?;
        }
        let made = convert::publish(self.fs.as_ref(), &self.spec, source, &build, limit)?;
        if made.rows == 0 {
            for p in [in_use, target] {
                if self.inner.exists(p)? {
                    self.inner.remove(p)?;
                }
            }
            self.local.remove(source)?;
            return Ok(Recovered::removed(in_use, size));
        }
        if made.odd.bad_timestamps > 0 || made.odd.lossy_bodies > 0 {
            tracing::warn!(path = %target.display(), bad_timestamps = made.odd.bad_timestamps, lossy_bodies = made.odd.lossy_bodies, "rows whose timestamp header is not a whole number (their timestamp column is null) or, with bodyAsString, whose body is not UTF-8 (U+FFFD written)");
        }
        self.hand_over(&build, in_use, target)?;
        self.local.remove(&build)?;
        let rows = self.rows_of(target);
        if source != rows {
            if let Some(dir) = rows.parent() {
                create_dirs_durably(self.fs.as_ref(), dir)?;
            }
            self.fs.rename(source, &rows)?;
            if let Some(dir) = rows.parent() {
                self.fs.sync_dir(dir)?;
            }
        }
        self.local.cut_published(&rows, made.staged_bytes)?;
        self.note_rolled(rows);
        tracing::debug!(path = %target.display(), rows = made.rows, "Parquet file handed over");
        Ok(Recovered {
            from: in_use.to_owned(),
            to: Some(target.to_owned()),
            kept: made.staged_bytes,
            cut: size.saturating_sub(made.staged_bytes),
        })
    }

    /// Copies the built file to the store as `in_use`, closes it and publishes it as
    /// `target`, replacing what a kill left under either name.
    fn hand_over(&self, build: &Path, in_use: &Path, target: &Path) -> io::Result<()> {
        let mut file = match self.inner.create(in_use) {
            Ok(f) => f,
            Err(e) if self.inner.exists(in_use).unwrap_or(false) => {
                tracing::debug!(path = %in_use.display(), error = %e, "replacing an in-use Parquet file a kill left");
                self.inner.remove(in_use)?;
                self.inner.create(in_use)?
            }
            Err(e) => return Err(e),
        };
        copy(self, build, file.as_mut())?;
        file.close()?;
        drop(file);
        match self.inner.publish(in_use, target) {
            Ok(()) => Ok(()),
            Err(e) if self.inner.exists(target).unwrap_or(false) => {
                tracing::debug!(path = %target.display(), error = %e, "replacing a Parquet file written before a kill from the same rows");
                self.inner.remove(target)?;
                self.inner.publish(in_use, target)
            }
            Err(e) => Err(e),
        }
    }

    /// Remembers the rows of a published file, removed [`super::KEEP_ROWS_BATCHES`]
    /// delivered batches on.
    fn note_rolled(&self, rows: std::path::PathBuf) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = kept.delivered;
        kept.rolled.retain(|(p, _)| *p != rows);
        kept.rolled.push((rows, at));
    }
}

/// Appends the local file `from` to `to`.
fn copy(store: &ParquetStore, from: &Path, to: &mut dyn StoreFile) -> io::Result<()> {
    let src = store.fs.open(from, OpenMode::Read)?;
    let mut buf = vec![0u8; COPY_CHUNK_BYTES];
    let mut at = 0u64;
    loop {
        let n = src.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok(());
        }
        to.append(&buf[..n])?;
        at += n as u64;
    }
}
