//! The `file_roll` sink: writes event bodies (each followed by a newline, with
//! `appendNewline`) to files named like Flume's path managers (`DEFAULT`:
//! `<prefix><start millis>-<n>[.ext]`; `ROLLTIME`: `<prefix><open time>-<n>[.ext]`) under
//! `sink.directory`, starting a new file every `sink.rollInterval` (never when 0). With
//! `sink.fsyncPerBatch` (the default; Flume never syncs) a batch is staged and its take
//! commits only after a write and an fsync that cover it (and the directory, for a new file),
//! one trip shared by the batches staged meanwhile ([`group_sync`]); without, it is written
//! whole in one call. After a failed write the
//! file is cut back to its last whole batch, after a failed fsync to its last synced one, and
//! abandoned; the next batch starts a new one. On a file channel each take commits the sink's cursor (file and
//! length): after a crash the output is cut back to it ([`resume`]), so no batch is written
//! twice.

pub(crate) mod config;
mod group_sync;
pub(crate) mod resume;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use tokio::fs::OpenOptions;
use tokio::time::Instant;

use super::{Acks, SinkError};
pub(crate) use config::{FileRollConfig, PathManager};
use group_sync::OpenFile;
pub(crate) use group_sync::GROUP_SYNC_DEPTH;
use sluice_core::Event;

/// The file_roll sink.
#[derive(Debug)]
pub(crate) struct FileRollSink {
    name: String,
    cfg: FileRollConfig,
    start_ms: u128,
    counter: u64,
    /// The open file, shared with the acknowledgements that fsync it ([`group_sync`]).
    current: Option<Arc<OpenFile>>,
    /// The last delivered batch's acknowledgement (its fsync), for the runner.
    acks: Option<Acks>,
    /// Set by a failed fsync ([`group_sync`]): the current file is cut back before the next
    /// write.
    sync_failed: Arc<std::sync::atomic::AtomicBool>,
    /// The current file and its bytes after the last whole batch.
    path: Option<(PathBuf, u64)>,
    roll_at: Option<Instant>,
}

impl FileRollSink {
    /// A sink that opens its first file on its first batch.
    pub(crate) fn new(name: &str, cfg: FileRollConfig) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        FileRollSink {
            name: name.to_owned(),
            cfg,
            start_ms,
            counter: 0,
            current: None,
            acks: None,
            sync_failed: Arc::default(),
            path: None,
            roll_at: None,
        }
    }

    fn err(&self, what: &str, e: std::io::Error) -> SinkError {
        SinkError {
            sink: self.name.clone(),
            message: format!("{what} in {}: {e}", self.cfg.directory.display()),
        }
    }

    async fn open_next(&mut self) -> Result<(), SinkError> {
        tokio::fs::create_dir_all(&self.cfg.directory)
            .await
            .map_err(|e| self.err("creating the directory", e))?;
        loop {
            self.counter += 1;
            let pm = &self.cfg.path_manager;
            let series = if pm.roll_time {
                chrono::Local::now().format(&pm.pattern).to_string()
            } else {
                self.start_ms.to_string()
            };
            let mut name = format!("{}{series}-{}", pm.prefix, self.counter);
            if !pm.extension.is_empty() {
                name.push('.');
                name.push_str(&pm.extension);
            }
            let path: PathBuf = self.cfg.directory.join(name);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(f) => {
                    tracing::debug!(sink = %self.name, path = %path.display(), "opened");
                    let dir = self.cfg.fsync_per_batch.then(|| self.cfg.directory.clone());
                    let failed = self.sync_failed.clone();
                    self.current = Some(OpenFile::new(f.into_std().await, dir, failed));
                    self.path = Some((path.clone(), 0));
                    self.roll_at = self.cfg.roll_interval.map(|d| Instant::now() + d);
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.err("opening a file", e)),
            }
        }
    }

    /// Closes the current file when its roll interval has passed.
    pub(crate) async fn tick(&mut self) -> Result<(), SinkError> {
        if self.roll_at.is_some_and(|t| Instant::now() >= t) {
            self.close().await;
        }
        Ok(())
    }

    /// Delivers a batch. With `sink.fsyncPerBatch` it is staged in the open file, and its
    /// acknowledgement writes and fsyncs it together with the batches staged meanwhile
    /// ([`group_sync`]); without, its bytes are written (cut back on failure) in one trip to
    /// the blocking pool.
    pub(crate) async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.tick().await?;
        self.abandon_if_unsynced().await?;
        if self.current.is_none() {
            self.open_next().await?;
        }
        let (Some(file), Some((_, len))) = (self.current.clone(), &self.path) else {
            return Err(SinkError {
                sink: self.name.clone(),
                message: "no open file".into(),
            });
        };
        let end = if self.cfg.fsync_per_batch {
            file.stage(events, self.cfg.append_newline)
        } else {
            let at = *len;
            let mut bytes = Vec::new();
            group_sync::render_into(&mut bytes, events, self.cfg.append_newline);
            let end = at + bytes.len() as u64;
            let f = file.clone();
            let result = tokio::task::spawn_blocking(move || f.write_batch(&bytes, at))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            if let Err(e) = result {
                // The batch was cut from the file and the file abandoned: the next batch
                // starts a new one.
                self.current = None;
                return Err(self.err("writing", e));
            }
            end
        };
        if let Some((_, len)) = self.path.as_mut() {
            *len = end;
        }
        if self.cfg.fsync_per_batch {
            let dir = self.cfg.directory.display().to_string();
            let sink = self.name.clone();
            self.acks = Some(Acks(Box::pin(async move {
                file.sync_through(end).await.map_err(|e| SinkError {
                    sink,
                    message: format!("{dir}: {e}"),
                })
            })));
        }
        Ok(())
    }

    /// After a failed write or fsync of staged batches (of this file or of one before a
    /// roll): the runner rolled back the batch and every later one, so the current file is
    /// cut back to what its last good fsync covered, and abandoned.
    async fn abandon_if_unsynced(&mut self) -> Result<(), SinkError> {
        if !self
            .sync_failed
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return Ok(());
        }
        let Some(file) = self.current.take() else {
            return Ok(());
        };
        let keep = file.synced();
        tracing::warn!(sink = %self.name, length = keep, "a write or fsync failed: the file is cut back to its last synced batch and a new one starts");
        tokio::task::spawn_blocking(move || file.cut(keep))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            .map_err(|e| self.err("cutting back a file whose write or fsync failed", e))
    }

    /// Cuts the output back to the cursor of the last committed take (see [`resume`]).
    async fn restore_to(&mut self, cursor: Vec<u8>) -> Result<(), SinkError> {
        let Some((file, len)) = resume::decode(&cursor) else {
            tracing::warn!(sink = %self.name, "unreadable cursor; output not cut back");
            return Ok(());
        };
        if file.parent() != Some(self.cfg.directory.as_path()) {
            tracing::info!(sink = %self.name, file = %file.display(), "the last committed file is in another directory; output not cut back");
            return Ok(());
        }
        let (dir, pm) = (self.cfg.directory.clone(), self.cfg.path_manager.clone());
        let f = file.clone();
        let done = tokio::task::spawn_blocking(move || resume::cut_back(&dir, &pm, &f, len))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(|e| self.err("cutting back to the last committed take", e))?;
        if done.truncated > 0 || !done.removed.is_empty() {
            tracing::info!(sink = %self.name, file = %file.display(), length = len, cut_bytes = done.truncated, removed_files = done.removed.len(), "output cut back to the last committed take; its events come again from the channel");
        }
        if done.missing > 0 {
            tracing::warn!(sink = %self.name, file = %file.display(), missing_bytes = done.missing, "the file is shorter than its committed length: bytes written without fsync were lost (sink.fsyncPerBatch = false?)");
        }
        Ok(())
    }

    /// Closes the current file (nothing is buffered: each batch is written whole).
    pub(crate) async fn close(&mut self) {
        self.current = None;
        self.roll_at = None;
    }
}

impl crate::agent::sink::Sink for FileRollSink {
    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<crate::agent::sink::Delivery, SinkError>> {
        Box::pin(async move {
            FileRollSink::deliver(self, &events)
                .await
                .map(|()| crate::agent::sink::Delivery::Done)
        })
    }

    fn tick(&mut self) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(FileRollSink::tick(self))
    }

    fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }

    fn pipeline_depth(&self) -> usize {
        if self.cfg.fsync_per_batch {
            GROUP_SYNC_DEPTH
        } else {
            crate::agent::sink::PIPELINE_DEPTH
        }
    }

    fn cursor(&mut self) -> Option<Vec<u8>> {
        let (path, len) = self.path.as_ref()?;
        resume::encode(path, *len)
    }

    fn restore(
        &mut self,
        cursor: Vec<u8>,
    ) -> crate::agent::channel::BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(self.restore_to(cursor))
    }

    fn stop(&mut self) -> crate::agent::channel::BoxFuture<'_, ()> {
        Box::pin(self.close())
    }
}

impl crate::agent::sink::BuildSink for FileRollConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "sink.batchSize"
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(FileRollSink::new(name, self.clone()))
    }
}
