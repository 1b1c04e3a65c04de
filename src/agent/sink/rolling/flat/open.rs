//! The flat writer's files: opening the next one (a name no file has yet, its directory
//! created durably), rolling it by `rollInterval`, abandoning it after a failed write or
//! fsync (cut back to its last synced batch), closing it (a user serializer's last bytes),
//! and the cut-back to the last committed take at start ([`resume`]).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::time::Instant;

use super::resume::{self, FlatNames};
use super::staged::OpenFile;
use super::FlatWriter;
use crate::agent::sink::rolling::parquet::staged_name;
use crate::agent::sink::SinkError;
use sluice_core::io::OpenMode;

/// Runs blocking file work on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

impl FlatWriter {
    /// Opens the next file: the first name after the last one used that no file has yet,
    /// then the user serializer's or the Avro header, if any.
    pub(super) async fn open_next(&mut self) -> Result<(), SinkError> {
        self.parquet_settle(None).await?;
        let parquet = self.parquet_spec().is_some();
        let store = self.store.clone();
        let dir = self.cfg.directory.clone();
        blocking(move || store.mkdirs(&dir))
            .await
            .map_err(|e| self.output_err("cannot create", e))?;
        loop {
            self.counter += 1;
            let pm = &self.cfg.path_manager;
            let series = if pm.roll_time {
                chrono::Local::now().format(&pm.pattern).to_string()
            } else {
                self.start_ms.to_string()
            };
            let name = pm.file_name(&series, self.counter);
            let path: PathBuf = if parquet {
                // A Parquet file's rows are staged; its name is taken when it exists.
                if self.fs.exists(&self.cfg.directory.join(&name)) {
                    continue;
                }
                self.cfg.directory.join(staged_name(&name))
            } else {
                self.cfg.directory.join(name)
            };
            let (fs, p) = (self.fs.clone(), path.clone());
            match blocking(move || fs.open(&p, OpenMode::CreateNew)).await {
                Ok(f) => {
                    tracing::debug!(sink = %self.name, path = %path.display(), "opened");
                    let dir = self.cfg.fsync_per_batch.then(|| self.cfg.directory.clone());
                    let failed = self.sync_failed.clone();
                    let file = OpenFile::new(self.fs.clone(), f, dir, failed);
                    self.current = Some(file.clone());
                    self.path = Some((path, 0));
                    self.roll_at = self.cfg.roll_interval.map(|d| Instant::now() + d);
                    return self.write_header(&file).await;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.output_err("cannot open a file in", e)),
            }
        }
    }

    /// A new file's first bytes: the user serializer's, else the Avro header, if any.
    async fn write_header(&mut self, file: &Arc<OpenFile>) -> Result<(), SinkError> {
        let header = if let Some(j) = self.user.as_mut() {
            let counter = self.counter;
            match j.create(counter).await {
                Ok(h) => Some(h),
                Err(e) => {
                    self.current = None;
                    return Err(self.peer_err("afterCreate()", e));
                }
            }
        } else {
            self.start_avro()
        };
        if let Some(header) = header {
            let end = self.put_bytes(file, header, 0).await?;
            if let Some((_, len)) = self.path.as_mut() {
                *len = end;
            }
        }
        Ok(())
    }

    /// Closes the current file when its roll interval has passed.
    pub(crate) async fn tick(&mut self) -> Result<(), SinkError> {
        if self.roll_at.is_some_and(|t| Instant::now() >= t) {
            self.close().await;
        }
        Ok(())
    }

    /// After a failed write or fsync of staged batches (of this file or of one before a
    /// roll): the runner rolled back the batch and every later one, so the current file is
    /// cut back to what its last good fsync covered, and abandoned.
    ///
    /// `settled`: every acknowledgement handed out had resolved when this batch was asked
    /// for, so the runner saw the failure and this batch is one it hands again. Otherwise
    /// the failed batches are still pending, and the runner rolls this batch back with them:
    /// it is failed here, not staged in a new file (where it would be written again behind
    /// their retries).
    pub(super) async fn abandon_if_unsynced(&mut self, settled: bool) -> Result<(), SinkError> {
        if !self
            .sync_failed
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return Ok(());
        }
        let outcome = if settled {
            Ok(())
        } else {
            Err(SinkError::disk(
                self.name.clone(),
                "a write or fsync of an earlier batch failed; this batch is taken again after it",
            ))
        };
        let Some(file) = self.current.take() else {
            return outcome;
        };
        let keep = file.synced();
        tracing::warn!(sink = %self.name, length = keep, "a write or fsync failed: the file is cut back to its last synced batch and a new one starts");
        blocking(move || file.cut(keep))
            .await
            .map_err(|e| self.err("cutting back a file whose write or fsync failed", e))?;
        if self.parquet_spec().is_some() {
            if let Some((path, _)) = self.path.clone() {
                self.parquet_publish(path, keep).await;
            }
        }
        outcome
    }

    /// The cursor before the first file (the runner commits it when the channel holds
    /// none), so a crash before the first commit is cut back too: number 0 of the series at
    /// length 0, `<prefix><start millis>-0` (with `ROLLTIME`, `<prefix><now>-0`; with
    /// `parquet`, its staged rows, `<name>.rows`). `None` with `ROLLTIME` names whose pattern
    /// does not sort by time ([`super::PathManager::sorts_by_time`]), or when a file already in
    /// the directory comes after it.
    pub(crate) async fn baseline(&mut self) -> Result<Option<Vec<u8>>, SinkError> {
        let pm = self.cfg.path_manager.clone();
        if self.current.is_some() {
            return Ok(None);
        }
        let series = match pm.roll_time {
            false => self.start_ms.to_string(),
            true if pm.sorts_by_time() => chrono::Local::now().format(&pm.pattern).to_string(),
            true => {
                tracing::warn!(sink = %self.name, "sink.pathManager.pattern does not sort by time (yyyy first, then MM, dd, HH, mm, ss, SSS in that order): batches taken again after a crash before the first commit may be written twice");
                return Ok(None);
            }
        };
        let first = pm.file_name(&series, 0);
        let staged = self.parquet_spec().is_some().then(|| staged_name(&first));
        let (store, dir) = (self.store.clone(), self.cfg.directory.clone());
        let found = blocking(move || {
            let names = FlatNames::of(&pm);
            resume::baseline(store.as_ref(), &dir, &names, &first)
        })
        .await
        .map_err(|e| self.output_err("cannot list", e))?;
        match found {
            Some(path) => match staged {
                Some(rows) => Ok(resume::encode(&path.with_file_name(rows), 0)),
                None => Ok(resume::encode(&path, 0)),
            },
            None => {
                tracing::warn!(sink = %self.name, directory = %self.cfg.directory.display(), "a file in the directory is named after this start (a clock set back?): batches taken again after a crash before the first commit may be written twice");
                Ok(None)
            }
        }
    }

    /// Cuts the output back to the cursor of the last committed take (see [`resume`]). A cut
    /// that fails (a full or failing disk at start) is done again before the next batch: no
    /// batch is written before the output is back at the cursor, or a take given again would
    /// be written twice. `Ok(false)`: the cursor is not this directory's (a baseline is due).
    pub(crate) async fn restore(&mut self, cursor: Vec<u8>) -> Result<bool, SinkError> {
        let Some((file, len)) = resume::decode(&cursor) else {
            tracing::warn!(sink = %self.name, "unreadable cursor; output not cut back");
            return Ok(false);
        };
        if file.parent() != Some(self.cfg.directory.as_path()) {
            tracing::info!(sink = %self.name, file = %file.display(), "the last committed file is in another directory; output not cut back");
            return self.parquet_settle(None).await.map(|()| false);
        }
        self.cut_due = Some((file, len));
        self.cut_back_due().await.map(|()| true)
    }

    /// The cut back [`FlatWriter::restore`] could not finish, if any, done now.
    pub(super) async fn cut_back_due(&mut self) -> Result<(), SinkError> {
        let Some((file, len)) = self.cut_due.clone() else {
            return Ok(());
        };
        if self.parquet_spec().is_some() {
            self.parquet_settle(Some((file, len))).await?;
            self.cut_due = None;
            return Ok(());
        }
        let (dir, pm) = (self.cfg.directory.clone(), self.cfg.path_manager.clone());
        let (store, f) = (self.store.clone(), file.clone());
        let done = blocking(move || {
            let names = FlatNames::of(&pm);
            resume::cut_back(store.as_ref(), &dir, &names, &f, len)
        })
        .await
        .map_err(|e| self.err("cutting back to the last committed take", e))?;
        if done.truncated > 0 || !done.removed.is_empty() {
            tracing::info!(sink = %self.name, file = %file.display(), length = len, cut_bytes = done.truncated, removed_files = done.removed.len(), "output cut back to the last committed take; its events come again from the channel");
        }
        if done.missing > 0 {
            tracing::warn!(sink = %self.name, file = %file.display(), missing_bytes = done.missing, "the file is shorter than its committed length: bytes written without fsync were lost (sink.fsyncPerBatch = false?)");
        }
        if self.store.exists(&file).unwrap_or(false) {
            self.finish(&file).await?;
        }
        self.cut_due = None;
        Ok(())
    }

    /// Closes the current file: nothing is buffered (each batch is written whole), but a user
    /// serializer's last bytes are written and synced first.
    pub(crate) async fn close(&mut self) {
        self.roll_at = None;
        let Some(file) = self.current.take() else {
            return;
        };
        if self.parquet_spec().is_some() {
            if let Some((path, len)) = self.path.clone() {
                self.parquet_roll(file, path, len).await;
            }
            return;
        }
        let (Some(j), Some((path, len))) = (self.user.as_mut(), self.path.clone()) else {
            return;
        };
        let footer = match j.close().await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(sink = %self.name, path = %path.display(), error = %e, "the serializer's beforeClose() failed; the file ends after its last batch");
                return;
            }
        };
        if footer.is_empty() {
            return;
        }
        let end = match self.put_bytes(&file, footer, len).await {
            Ok(end) => end,
            Err(e) => {
                tracing::warn!(sink = %self.name, error = %e, "writing the serializer's last bytes failed");
                return;
            }
        };
        if self.cfg.fsync_per_batch {
            if let Err(e) = file.sync_through(end).await {
                tracing::warn!(sink = %self.name, path = %path.display(), error = %e, "syncing the serializer's last bytes failed");
            }
        }
    }
}
