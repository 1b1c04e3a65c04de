//! [`FlatWriter`]: the flat local writer's state and its batches. A batch is rendered at
//! `deliver` and, with `fsyncPerBatch`, staged in the open file with an acknowledgement that
//! writes and fsyncs it ([`group_sync::OpenFile::sync_through`]); without, written whole in one
//! trip to the blocking pool, cut back and the file left on failure.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::handed::Handed;
use super::resume;
use super::staged::{self as group_sync, LineStyle, OpenFile};
use super::{FlatConfig, RollSerializer};
use crate::agent::sink::output_down::OutputDown;
use crate::agent::sink::rolling::format::{Encoder, Layout};
use crate::agent::sink::rolling::serializer::StartSerializer;
use crate::agent::sink::rolling::store::{self, Store};
use crate::agent::sink::rolling::GROUP_SYNC_DEPTH;
use crate::agent::sink::{Acks, SinkError};
use sluice_core::io::{Fs, StdFs};
use sluice_core::Event;

/// The flat local writer of one sink (see [`super`]).
#[derive(Debug)]
pub(crate) struct FlatWriter {
    pub(super) name: String,
    pub(super) cfg: FlatConfig,
    /// The file system (`StdFs` but in tests).
    pub(super) fs: Arc<dyn Fs>,
    /// The directory operations: creating it, the cut-back.
    pub(super) store: Arc<dyn Store>,
    /// The `DEFAULT` path manager's series: the writer's start in epoch millis.
    pub(super) start_ms: u128,
    /// The last file number used.
    pub(super) counter: u64,
    /// The open file, shared with the acknowledgements that fsync it ([`group_sync`]).
    pub(super) current: Option<Arc<OpenFile>>,
    /// The last delivered batch's acknowledgement (its fsync), for the runner.
    pub(super) acks: Option<Acks>,
    /// Set by a failed fsync ([`group_sync`]): the current file is cut back before the next
    /// write.
    pub(super) sync_failed: Arc<AtomicBool>,
    /// The current file and its bytes after the last whole batch.
    pub(super) path: Option<(PathBuf, u64)>,
    pub(super) roll_at: Option<Instant>,
    /// The serializer the sink was handed (a class), when one is configured.
    pub(super) user: Option<Handed>,
    /// The open file's Avro encoder (its sync marker), with `AVRO_EVENT`.
    pub(super) avro: Option<Encoder>,
    /// Whether the output can be written (`OutputDownMillis`, read by `/health`).
    pub(super) output: OutputDown,
    /// The `parquet` serializer's staged files.
    pub(super) pq: super::parquet_files::ParquetFiles,
    /// The committed cursor a cut back at start failed to reach: reached before the next
    /// batch is written ([`FlatWriter::restore`]).
    pub(super) cut_due: Option<(PathBuf, u64)>,
    /// Acknowledgements handed out, and how many of them resolved (either way).
    acks_handed: u64,
    acks_resolved: Arc<std::sync::atomic::AtomicU64>,
}

impl FlatWriter {
    /// A writer on the real disk that opens its first file on its first batch.
    /// `user`: the serializer it was handed (a class), started with the first file.
    pub(crate) fn new(name: &str, cfg: FlatConfig, user: Option<StartSerializer>) -> Self {
        Self::with_fs(name, cfg, user, Arc::new(StdFs))
    }

    /// A writer on `fs`.
    pub(crate) fn with_fs(
        name: &str,
        cfg: FlatConfig,
        user: Option<StartSerializer>,
        fs: Arc<dyn Fs>,
    ) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        FlatWriter {
            name: name.to_owned(),
            cfg,
            store: store::on_fs(fs.clone()),
            fs,
            start_ms,
            counter: 0,
            current: None,
            acks: None,
            sync_failed: Arc::default(),
            path: None,
            roll_at: None,
            user: user.map(Handed::new),
            avro: None,
            output: OutputDown::default(),
            pq: Default::default(),
            cut_due: None,
            acks_handed: 0,
            acks_resolved: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// The writer's output state, for the sink's gauges.
    pub(crate) fn output(&self) -> OutputDown {
        self.output.clone()
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
    pub(super) fn start_avro(&mut self) -> Option<Vec<u8>> {
        let RollSerializer::AvroEvent {
            sync_interval_bytes,
        } = self.cfg.serializer.clone()
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

    pub(super) fn err(&self, what: &str, e: std::io::Error) -> SinkError {
        SinkError::disk(
            self.name.clone(),
            format!("{what} in {}: {e}", self.cfg.directory.display()),
        )
    }

    /// [`FlatWriter::err`] for a failure to write the output, which marks it down (`/health`
    /// names the sink and the reason, which names [`super::DIRECTORY_KEY`]).
    pub(super) fn output_err(&self, what: &str, e: std::io::Error) -> SinkError {
        let err = SinkError::disk(
            self.name.clone(),
            format!(
                "{what} {} {}: {e}",
                super::DIRECTORY_KEY,
                self.cfg.directory.display()
            ),
        );
        self.output.down(&err);
        err
    }

    /// Delivers a batch. With `fsyncPerBatch` it is staged in the open file, and its
    /// acknowledgement ([`FlatWriter::take_acks`]) writes and fsyncs it together with the
    /// batches staged meanwhile ([`group_sync`]); without, its bytes are written (cut back on
    /// failure) in one trip to the blocking pool.
    ///
    /// Whether every acknowledgement handed out so far had resolved is read when this is
    /// called, before the returned future runs: the runner asks for a batch while the earlier
    /// ones' acknowledgements are pending, and rolls it back with them if one of them fails.
    #[cfg(test)]
    pub(crate) fn deliver<'a>(
        &'a mut self,
        events: &'a [Event],
    ) -> impl std::future::Future<Output = Result<(), SinkError>> + Send + 'a {
        let settled = self.acks_settled();
        self.deliver_after(events, settled)
    }

    /// Whether every acknowledgement handed out has resolved (the runner saw each outcome).
    pub(crate) fn acks_settled(&self) -> bool {
        self.acks_resolved
            .load(std::sync::atomic::Ordering::Acquire)
            == self.acks_handed
    }

    pub(crate) async fn deliver_after(
        &mut self,
        events: &[Event],
        settled: bool,
    ) -> Result<(), SinkError> {
        self.cut_back_due().await?;
        self.tick().await?;
        self.abandon_if_unsynced(settled).await?;
        if self.current.is_none() {
            self.open_next().await?;
        }
        let (Some(file), Some(len)) = (self.current.clone(), self.path.as_ref().map(|p| p.1))
        else {
            return Err(SinkError::disk(self.name.clone(), "no open file"));
        };
        let end = if let Some(j) = self.user.as_mut() {
            let bytes = match j.write(events).await {
                Ok(b) => b,
                Err(e) => {
                    // The serializer's state for this file is unknown (or gone with its
                    // JVM): the file is left as its synced batches made it.
                    self.current = None;
                    return Err(self.peer_err("write()", e));
                }
            };
            self.put_bytes(&file, bytes, len).await?
        } else if self.avro.is_some() {
            let bytes = self
                .avro_batch(events)
                .inspect_err(|_| self.current = None)?;
            self.put_bytes(&file, bytes, len).await?
        } else if self.parquet_spec().is_some() {
            self.parquet_stage(&file, events, len).await?
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
            let (sink, output) = (self.name.clone(), self.output.clone());
            self.acks_handed += 1;
            let resolved = self.acks_resolved.clone();
            self.acks = Some(Acks(Box::pin(async move {
                let synced = file.sync_through(end).await.map_err(|e| {
                    let key = super::DIRECTORY_KEY;
                    SinkError::disk(sink, format!("writing in {key} {dir}: {e}"))
                });
                match &synced {
                    Ok(()) => output.up(),
                    Err(e) => output.down(e),
                }
                resolved.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                synced
            })));
        } else {
            self.output.up();
        }
        if self.parquet_spec().is_some() {
            self.parquet_delivered().await;
        }
        Ok(())
    }

    /// Puts rendered bytes at byte `at` of the open `file`: staged (written and synced by the
    /// next acknowledgement) with `fsyncPerBatch`, else written now in one trip to the
    /// blocking pool (cut back and the file left on failure). The file's length after them.
    pub(super) async fn put_bytes(
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
            return Err(self.output_err("writing in", e));
        }
        Ok(end)
    }

    /// The last delivered batch's acknowledgement (its fsync), once.
    pub(crate) fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }

    /// The takes the runner keeps open: [`GROUP_SYNC_DEPTH`] while batches wait for a shared
    /// fsync, else the runner's default.
    pub(crate) fn pipeline_depth(&self) -> usize {
        if self.cfg.fsync_per_batch {
            GROUP_SYNC_DEPTH
        } else {
            crate::agent::sink::PIPELINE_DEPTH
        }
    }

    /// The cursor after the last delivered batch (file, length; [`resume`]).
    pub(crate) fn cursor(&self) -> Option<Vec<u8>> {
        let (path, len) = self.path.as_ref()?;
        resume::encode(path, *len)
    }
}
