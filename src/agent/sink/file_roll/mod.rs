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

use std::fs::File;
use std::io::Write;

use tokio::fs::OpenOptions;
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
    /// The open file (`None` also while a batch is written on the blocking pool).
    current: Option<File>,
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
                    self.current = Some(f.into_std().await);
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

    /// Writes a batch: its bytes gathered here, then written, fsynced (with
    /// `sink.fsyncPerBatch`, and the directory for a new file) and on failure cut back, all in
    /// one trip to the blocking pool.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.tick().await?;
        if self.current.is_none() {
            self.open_next().await?;
        }
        let (Some(file), Some((_, len))) = (self.current.take(), &self.path) else {
            return Err(SinkError {
                sink: self.name.clone(),
                message: "no open file".into(),
            });
        };
        let bytes = render(events, self.cfg.append_newline);
        let n = bytes.len() as u64;
        let write = BatchWrite {
            bytes,
            len: *len,
            sync: self.cfg.fsync_per_batch,
            dir: (self.new_entry && self.cfg.fsync_per_batch).then(|| self.cfg.directory.clone()),
        };
        let (file, result) = tokio::task::spawn_blocking(move || write.run(file))
            .await
            .map_err(|e| self.err("writing", std::io::Error::other(e)))?;
        match result {
            Ok(()) => {
                self.current = Some(file);
                if self.cfg.fsync_per_batch {
                    self.new_entry = false;
                }
                if let Some((_, len)) = self.path.as_mut() {
                    *len += n;
                }
                Ok(())
            }
            // The batch was cut from the file (see `BatchWrite::run`) and the file abandoned: the
            // next batch starts a new one.
            Err(e) => Err(self.err("writing", e)),
        }
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
    pub async fn close(&mut self) {
        self.current = None;
        self.roll_at = None;
    }
}

/// A batch's bytes: each body, then a newline with `appendNewline`.
fn render(events: &[Event], newline: bool) -> Vec<u8> {
    let size: usize = events
        .iter()
        .map(|e| e.body.len() + usize::from(newline))
        .sum();
    let mut out = Vec::with_capacity(size);
    for e in events {
        out.extend_from_slice(&e.body);
        if newline {
            out.push(b'\n');
        }
    }
    out
}

/// One batch's write, run on the blocking pool.
struct BatchWrite {
    bytes: Vec<u8>,
    /// The file's length before the batch (where a failed write is cut back to).
    len: u64,
    /// fdatasync the file after the write.
    sync: bool,
    /// fsync this directory too (the file is new).
    dir: Option<PathBuf>,
}

impl BatchWrite {
    /// Writes (and syncs); on failure cuts the file back to `len` so a retry does not write
    /// the batch twice.
    fn run(self, mut file: File) -> (File, std::io::Result<()>) {
        let mut result = file.write_all(&self.bytes);
        if result.is_ok() && self.sync {
            result = file.sync_data();
        }
        if let (Ok(()), Some(dir)) = (&result, &self.dir) {
            result = File::open(dir).and_then(|d| d.sync_all());
        }
        if result.is_err() {
            if let Err(cut) = file.set_len(self.len) {
                tracing::warn!(error = %cut, "cutting a failed batch from the file failed; its events will be written again");
            }
        }
        (file, result)
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
