//! The `file_roll` sink: writes events as Flume's serializers do (`TEXT`: each body followed
//! by a newline, with `appendNewline`; `HEADER_AND_TEXT`: Java's `Map.toString()` of the
//! headers in Flume's order and a space first, the event id left out unless `keepEventId`;
//! `AVRO_EVENT`: an Avro container of Flume's event schema, one block per batch, through the
//! rolling engine's [`Encoder`]) to files named like Flume's path managers (`DEFAULT`:
//! `<prefix><start millis>-<n>[.ext]`; `ROLLTIME`: `<prefix><open time>-<n>[.ext]`) under
//! `sink.directory`, starting a new file every `sink.rollInterval` (never when 0). With
//! `sink.fsyncPerBatch` (the default; Flume never syncs) a batch is staged and its take
//! commits only after a write and an fsync that cover it (and the directory, for a new file),
//! one trip shared by the batches staged meanwhile ([`group_sync`]); without, it is written
//! whole in one call. After a failed write the
//! file is cut back to its last whole batch, after a failed fsync to its last synced one, and
//! abandoned; the next batch starts a new one. On a file channel each take commits the sink's cursor (file and
//! length): after a crash the output is cut back to it ([`resume`]), so no batch is written
//! twice. With a Java `sink.serializer` the bytes of a file (its header, each batch, its
//! footer) are the serializer's ([`java_out`]), under the same rules.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "file_roll writes its files on the real disk and is tested there (DESIGN.md, the agent's std::fs rule)"
)]

pub(crate) mod config;
mod contract;
mod java_out;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use tokio::fs::OpenOptions;
use tokio::time::Instant;

use super::{Acks, SinkError};
use crate::agent::sink::rolling::format::{Encoder, Layout};
use crate::agent::sink::rolling::group_sync::staged::{self as group_sync, LineStyle, OpenFile};
use crate::agent::sink::rolling::resume::flat::{self as resume, FlatNames};
pub(crate) use config::{FileRollConfig, RollSerializer};
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
    /// The user's Java serializer, when `sink.serializer` names one.
    java: Option<java_out::JavaOut>,
    /// The open file's Avro encoder (its sync marker), with `AVRO_EVENT`.
    avro: Option<Encoder>,
}

impl FileRollSink {
    /// A sink that opens its first file on its first batch.
    pub(crate) fn new(name: &str, cfg: FileRollConfig) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let java = cfg
            .java_serializer
            .clone()
            .map(|spec| java_out::JavaOut::new(name, spec));
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
            java,
            avro: None,
        }
    }

    /// How `TEXT` and `HEADER_AND_TEXT` write an event.
    fn style(&self) -> LineStyle {
        LineStyle {
            newline: self.cfg.append_newline,
            headers: self.cfg.serializer == RollSerializer::HeaderAndText,
            keep_id: self.cfg.keep_event_id,
        }
    }

    /// A new file's Avro encoder and its header bytes, with `AVRO_EVENT`.
    fn start_avro(&mut self) -> Option<Vec<u8>> {
        let RollSerializer::AvroEvent {
            sync_interval_bytes,
        } = self.cfg.serializer
        else {
            return None;
        };
        let layout = Layout::Avro {
            sync_interval: sync_interval_bytes,
            keep_id: self.cfg.keep_event_id,
        };
        let enc = Encoder::new(layout, self.counter ^ fastrand::u64(..));
        let header = enc.header();
        self.avro = Some(enc);
        Some(header)
    }

    /// A batch's bytes through the open file's Avro encoder: whole blocks.
    fn avro_batch(&mut self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        let Some(enc) = self.avro.as_mut() else {
            return Err(SinkError::disk(
                self.name.clone(),
                "no Avro encoder for the open file",
            ));
        };
        let mut encoded = || -> std::io::Result<Vec<u8>> {
            for e in events {
                enc.add(e, 0)?;
            }
            enc.take_batch()
        };
        encoded().map_err(|e| self.err("encoding Avro", e))
    }

    fn err(&self, what: &str, e: std::io::Error) -> SinkError {
        SinkError::disk(
            self.name.clone(),
            format!("{what} in {}: {e}", self.cfg.directory.display()),
        )
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
                    let file = OpenFile::new(f.into_std().await, dir, failed);
                    self.current = Some(file.clone());
                    self.path = Some((path.clone(), 0));
                    self.roll_at = self.cfg.roll_interval.map(|d| Instant::now() + d);
                    let header = if let Some(j) = self.java.as_mut() {
                        Some(j.create(self.counter).await.inspect_err(|_| {
                            self.current = None;
                        })?)
                    } else {
                        self.start_avro()
                    };
                    if let Some(header) = header {
                        let end = self.put_bytes(&file, header, 0).await?;
                        if let Some((_, len)) = self.path.as_mut() {
                            *len = end;
                        }
                    }
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
        let (Some(file), Some(len)) = (self.current.clone(), self.path.as_ref().map(|p| p.1))
        else {
            return Err(SinkError::disk(self.name.clone(), "no open file"));
        };
        let end = if let Some(j) = self.java.as_mut() {
            let bytes = match j.write(events).await {
                Ok(b) => b,
                Err(e) => {
                    // The serializer's state for this file is unknown (or gone with its
                    // JVM): the file is left as its synced batches made it.
                    self.current = None;
                    return Err(e);
                }
            };
            self.put_bytes(&file, bytes, len).await?
        } else if self.avro.is_some() {
            let bytes = self
                .avro_batch(events)
                .inspect_err(|_| self.current = None)?;
            self.put_bytes(&file, bytes, len).await?
        } else if self.cfg.fsync_per_batch {
            file.stage(events, self.style())
        } else {
            let mut bytes = Vec::new();
            group_sync::render_into(&mut bytes, events, self.style());
            self.put_bytes(&file, bytes, len).await?
        };
        if let Some((_, len)) = self.path.as_mut() {
            *len = end;
        }
        if self.cfg.fsync_per_batch {
            let dir = self.cfg.directory.display().to_string();
            let sink = self.name.clone();
            self.acks = Some(Acks(Box::pin(async move {
                file.sync_through(end)
                    .await
                    .map_err(|e| SinkError::disk(sink, format!("{dir}: {e}")))
            })));
        }
        Ok(())
    }

    /// Puts rendered bytes at byte `at` of the open `file`: staged (written and synced by the
    /// next acknowledgement) with `sink.fsyncPerBatch`, else written now in one trip to the
    /// blocking pool (cut back and the file left on failure). The file's length after them.
    async fn put_bytes(
        &mut self,
        file: &Arc<OpenFile>,
        bytes: Vec<u8>,
        at: u64,
    ) -> Result<u64, SinkError> {
        if self.cfg.fsync_per_batch {
            return Ok(file.stage_bytes(&bytes));
        }
        let end = at + bytes.len() as u64;
        let f = file.clone();
        let result = tokio::task::spawn_blocking(move || f.write_batch(&bytes, at))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = result {
            // The bytes were cut from the file and the file left: the next batch starts a
            // new one.
            self.current = None;
            return Err(self.err("writing", e));
        }
        Ok(end)
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
        let done = tokio::task::spawn_blocking(move || {
            let names = FlatNames {
                prefix: &pm.prefix,
                extension: &pm.extension,
            };
            resume::cut_back(&dir, &names, &f, len)
        })
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
        match self.java.as_mut() {
            Some(j) if file.is_file() => j.finish(&file).await,
            _ => Ok(()),
        }
    }

    /// Closes the current file: nothing is buffered (each batch is written whole), but a Java
    /// serializer's `beforeClose()` bytes are written and synced first.
    pub(crate) async fn close(&mut self) {
        self.roll_at = None;
        let Some(file) = self.current.take() else {
            return;
        };
        let (Some(j), Some((path, len))) = (self.java.as_mut(), self.path.clone()) else {
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

#[cfg(test)]
mod tests;
