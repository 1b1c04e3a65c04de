//! The `file_roll` sink: writes event bodies (each followed by a newline, with
//! `appendNewline`) to files named like Flume's path managers (`DEFAULT`:
//! `<prefix><start millis>-<n>[.ext]`; `ROLLTIME`: `<prefix><open time>-<n>[.ext]`) under
//! `sink.directory`, starting a new file every `sink.rollInterval` (never when 0). A batch
//! counts as delivered only after it was written, flushed and (with `sink.fsyncPerBatch`,
//! the default; Flume never syncs) fsynced, with the directory fsynced for a new file; after
//! a failed write the file is cut back to its last whole batch and abandoned, and the next
//! batch starts a new one. On a file channel each take commits the sink's cursor (file and
//! length): after a crash the output is cut back to it ([`resume`]), so no batch is written
//! twice.

pub mod config;
pub mod resume;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::time::Instant;

use super::SinkError;
pub use config::{FileRollConfig, PathManager};
use sluice_core::Event;

/// The file_roll sink.
#[derive(Debug)]
pub struct FileRollSink {
    name: String,
    cfg: FileRollConfig,
    start_ms: u128,
    counter: u64,
    current: Option<BufWriter<File>>,
    /// The current file and its bytes after the last whole batch.
    path: Option<(PathBuf, u64)>,
    roll_at: Option<Instant>,
    new_entry: bool,
}

impl FileRollSink {
    /// A sink that opens its first file on its first batch.
    pub fn new(name: &str, cfg: FileRollConfig) -> Self {
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
            path: None,
            roll_at: None,
            new_entry: false,
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
                    self.current = Some(BufWriter::new(f));
                    self.path = Some((path.clone(), 0));
                    self.new_entry = true;
                    self.roll_at = self.cfg.roll_interval.map(|d| Instant::now() + d);
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.err("opening a file", e)),
            }
        }
    }

    /// Closes the current file when its roll interval has passed.
    pub async fn tick(&mut self) -> Result<(), SinkError> {
        if self.roll_at.is_some_and(|t| Instant::now() >= t) {
            self.close().await;
        }
        Ok(())
    }

    /// Writes and flushes a batch.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.tick().await?;
        if self.current.is_none() {
            self.open_next().await?;
        }
        let newline = self.cfg.append_newline;
        let Some(w) = self.current.as_mut() else {
            return Err(SinkError {
                sink: self.name.clone(),
                message: "no open file".into(),
            });
        };
        let mut result = Ok(());
        let mut bytes = 0u64;
        for e in events {
            bytes += e.body.len() as u64 + u64::from(newline);
            result = w.write_all(&e.body).await;
            if result.is_ok() && newline {
                result = w.write_all(b"\n").await;
            }
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = w.flush().await;
        }
        if result.is_ok() && self.cfg.fsync_per_batch {
            result = w.get_ref().sync_data().await;
            if result.is_ok() && self.new_entry {
                result = sync_dir(self.cfg.directory.clone()).await;
                self.new_entry = result.is_err();
            }
        }
        if let Err(e) = result {
            // The batch is rolled back: its bytes go, so the retry does not write them twice.
            if let (Some(w), Some((_, len))) = (self.current.take(), &self.path) {
                if let Err(cut) = w.get_ref().set_len(*len).await {
                    tracing::warn!(sink = %self.name, error = %cut, "cutting a failed batch from the file failed; its events will be written again");
                }
            }
            return Err(self.err("writing", e));
        }
        if let Some((_, len)) = self.path.as_mut() {
            *len += bytes;
        }
        Ok(())
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

    /// Flushes and closes the current file.
    pub async fn close(&mut self) {
        if let Some(mut w) = self.current.take() {
            if let Err(e) = w.shutdown().await {
                tracing::warn!(sink = %self.name, error = %e, "closing the file failed");
            }
        }
        self.roll_at = None;
    }
}

/// fsyncs a directory so a new file's entry is durable.
async fn sync_dir(dir: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
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
