//! The serializer a flat sink was handed (`file_roll`'s `sink.serializer` naming a class): the
//! engine's one serializer seam ([`crate::agent::sink::rolling::serializer`]), as for `hdfs`
//! and `s3`, each answer a [`Step`](crate::agent::sink::rolling::serializer::Step) the flat
//! writer awaits on its own task (it is async; `Sync` answers cost nothing, `Async` ones, the
//! Java host's, are awaited without a blocking thread). One stream per output file, numbered
//! from the file counter; stream 0 finishes the last committed file after a restart
//! ([`FlatWriter::finish`]): its `reopen` then `close` bytes, when the serializer can reopen.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::FlatWriter;
use crate::agent::sink::rolling::serializer::{StartSerializer, StreamSerializer};
use crate::agent::sink::SinkError;
use sluice_core::io::OpenMode;
use sluice_core::Event;

/// The stream that finishes the last committed file after a restart (files' streams are
/// numbered from 1).
const FINISH_STREAM: u32 = 0;

/// The handed serializer, started with the first call, and the open file's stream.
#[derive(Debug)]
pub(crate) struct Handed {
    start: StartSerializer,
    ser: Option<Arc<dyn StreamSerializer>>,
    stream: u32,
}

impl Handed {
    /// A serializer that `start` starts with the first call (its host's process then).
    pub(crate) fn new(start: StartSerializer) -> Handed {
        Handed {
            start,
            ser: None,
            stream: FINISH_STREAM,
        }
    }

    fn ser(&mut self) -> Arc<dyn StreamSerializer> {
        self.ser.get_or_insert_with(|| self.start.start()).clone()
    }

    /// File number `counter` was created: its first bytes (`afterCreate()`).
    pub(super) async fn create(&mut self, counter: u64) -> io::Result<Vec<u8>> {
        // A u32 stream: the sink never has two files open, so wrapping is harmless.
        self.stream = (counter % u64::from(u32::MAX)) as u32 + 1;
        let ser = self.ser();
        ser.create(self.stream).run().await
    }

    /// A batch's bytes in the open file.
    pub(super) async fn write(&mut self, events: &[Event]) -> io::Result<Vec<u8>> {
        let ser = self.ser();
        ser.write(self.stream, events.to_vec()).run().await
    }

    /// The open file's last bytes (`beforeClose()`).
    pub(super) async fn close(&mut self) -> io::Result<Vec<u8>> {
        let ser = self.ser();
        ser.close(self.stream).run().await
    }
}

impl FlatWriter {
    /// The handed serializer failed a call (`what`): it is this sink's peer.
    pub(super) fn peer_err(&self, what: &str, e: io::Error) -> SinkError {
        SinkError::peer(self.name.clone(), format!("the serializer's {what}: {e}"))
    }

    /// Finishes `path` (cut back to its last committed batch at start) through the handed
    /// serializer: its reopen and close bytes appended and synced through the writer's file
    /// system. One that cannot reopen leaves the file as its last committed batch ended it
    /// (logged).
    pub(super) async fn finish(&mut self, path: &Path) -> Result<(), SinkError> {
        let Some(ser) = self.user.as_mut().map(Handed::ser) else {
            return Ok(());
        };
        let mut bytes = match ser.reopen(FINISH_STREAM).run().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(sink = %self.name, path = %path.display(), error = %e, "the last committed file cannot be reopened to write its last bytes again; it ends after its last committed batch");
                return Ok(());
            }
        };
        let last = ser.close(FINISH_STREAM).run().await;
        bytes.extend(last.map_err(|e| self.peer_err("beforeClose()", e))?);
        if bytes.is_empty() {
            return Ok(());
        }
        let (fs, p) = (self.fs.clone(), path.to_owned());
        super::open::blocking(move || {
            let f = fs.open(&p, OpenMode::ReadWrite)?;
            f.write_all_at(&bytes, f.len()?)?;
            f.sync_data()
        })
        .await
        .map_err(|e| self.err("writing the serializer's last bytes again", e))
    }
}
