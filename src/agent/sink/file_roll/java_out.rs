//! file_roll's side of a user's Java serializer (crate::agent::java::serializer): one stream
//! per output file (numbered by the sink's file counter), started in its JVM on the first
//! file. After a restart the file of the last committed take, cut back to its committed
//! length, is finished through `afterReopen()` and `beforeClose()` when the serializer
//! `supportsReopen()` (a footer cut with the batches after the cursor is written again).

use std::path::Path;

use crate::agent::java::serializer::{JavaSerializer, JavaSerializerSpec};
use crate::agent::sink::rolling::flat::FlatSerializer;
use crate::agent::sink::SinkError;
use sluice_core::io::{Fs, OpenMode, StdFs};
use sluice_core::Event;

/// The stream number used to finish the last committed file after a restart (the sink's
/// files are numbered from 1).
const FINISH_STREAM: u32 = 0;

/// A file_roll sink's Java serializer.
#[derive(Debug)]
pub(super) struct JavaOut {
    sink: String,
    spec: JavaSerializerSpec,
    ser: Option<JavaSerializer>,
    stream: u32,
}

impl JavaOut {
    /// Its JVM starts with the first call.
    pub(super) fn new(sink: &str, spec: JavaSerializerSpec) -> JavaOut {
        JavaOut {
            sink: sink.to_owned(),
            spec,
            ser: None,
            stream: FINISH_STREAM,
        }
    }

    fn ser(&mut self) -> &JavaSerializer {
        self.ser
            .get_or_insert_with(|| JavaSerializer::start(&self.sink, &self.spec))
    }

    /// The serializer's JVM failed a call: it is this sink's peer.
    fn err(&self, what: &str, e: impl std::fmt::Display) -> SinkError {
        SinkError::peer(self.sink.clone(), format!("the serializer's {what}: {e}"))
    }
}

/// The engine's flat writer asks for each file's bytes here.
impl FlatSerializer for JavaOut {
    /// File number `counter` was created: its serializer's `afterCreate()` bytes.
    async fn create(&mut self, counter: u64) -> Result<Vec<u8>, SinkError> {
        // A u32 stream number: the sink never has two files open, so wrapping is harmless.
        self.stream = (counter % u64::from(u32::MAX)) as u32 + 1;
        let stream = self.stream;
        let r = self.ser().create(stream).await;
        r.map_err(|e| self.err("afterCreate()", e))
    }

    /// A batch's bytes in the current file.
    async fn write(&mut self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        let stream = self.stream;
        let r = self.ser().write(stream, events).await;
        r.map_err(|e| self.err("write()", e))
    }

    /// The current file's last bytes (`beforeClose()`).
    async fn close(&mut self) -> Result<Vec<u8>, SinkError> {
        let stream = self.stream;
        let r = self.ser().close(stream).await;
        r.map_err(|e| self.err("beforeClose()", e))
    }

    /// Finishes `path` (cut back to its last committed batch after a restart): its
    /// `afterReopen()` and `beforeClose()` bytes appended and synced. A serializer that does
    /// not support reopen leaves the file as its last committed batch ended it (logged).
    async fn finish(&mut self, path: &Path) -> Result<(), SinkError> {
        let mut bytes = match self.ser().reopen(FINISH_STREAM).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(sink = %self.sink, path = %path.display(), error = %e, "the last committed file cannot be reopened to write its last bytes again; it ends after its last committed batch");
                return Ok(());
            }
        };
        let last = self.ser().close(FINISH_STREAM).await;
        bytes.extend(last.map_err(|e| self.err("beforeClose()", e))?);
        if bytes.is_empty() {
            return Ok(());
        }
        let p = path.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let f = StdFs.open(&p, OpenMode::ReadWrite)?;
            f.write_all_at(&bytes, f.len()?)?;
            f.sync_data()
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(|e| self.err("last bytes, written again", e))
    }
}
