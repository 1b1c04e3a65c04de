//! A Java event serializer (`sink.serializer = com.example.Lengths$Builder` on a `file_roll`
//! sink, `serializer = ...` on an `hdfs` or `s3` sink), on the rolling engine's serializer seam: its `EventSerializer.Builder` lives in a JVM
//! of its own, which builds one serializer per output file (a stream number the sink picks)
//! on an output stream that only collects bytes. Each call hands back what the serializer
//! wrote into it during the call (`afterCreate`'s header, a batch's `write`s then `flush`,
//! `beforeClose`'s footer), and the sink writes those bytes into its own file under its own
//! durability rules: a take commits only once the bytes of its batch are durable. A JVM that
//! ends loses its streams: the sink then leaves its file (a new one starts with the next batch).

use std::io;
use std::sync::Arc;

use super::call::{self, frame_runs, CallError, Caller};
use super::frame::{encode_serialize, FromJvm, Role, SerializeOp};
use crate::agent::sink::rolling::serializer::{StartSerializer, Step, StreamSerializer};
use sluice_core::Event;

/// Reads `sink.serializer` or `serializer` as a Java builder class when it is one.
pub(crate) use crate::agent::sink::rolling::serializer::parse_spec as parse;
/// A sink's Java serializer: the builder's class and its keys (the engine's
/// [`SerializerSpec`](crate::agent::sink::rolling::serializer::SerializerSpec)).
pub use crate::agent::sink::rolling::serializer::SerializerSpec as JavaSerializerSpec;
pub(crate) use crate::agent::sink::rolling::serializer::{
    FLUME_AVRO_EVENT, FLUME_HEADER_AND_TEXT, FLUME_TEXT,
};

/// How the rolling engine starts sink `sink`'s Java serializer (with its first file): its
/// serializer seam, each answer a [`Step::Async`] the engine waits for.
pub(crate) fn starter(sink: &str, spec: &JavaSerializerSpec) -> StartSerializer {
    let (sink, spec) = (sink.to_owned(), spec.clone());
    StartSerializer(Arc::new(move || {
        Arc::new(JavaStreams(Arc::new(JavaSerializer::start(&sink, &spec))))
    }))
}

/// A sink's Java serializer on the engine's serializer seam.
#[derive(Debug)]
struct JavaStreams(Arc<JavaSerializer>);

/// A failed call, as the engine reports it.
fn io_err(e: CallError) -> io::Error {
    io::Error::other(format!("the Java serializer: {e}"))
}

impl StreamSerializer for JavaStreams {
    fn create(&self, stream: u32) -> Step<Vec<u8>> {
        let ser = self.0.clone();
        Step::Async(Box::pin(
            async move { ser.create(stream).await.map_err(io_err) },
        ))
    }

    fn write(&self, stream: u32, events: Vec<Event>) -> Step<Vec<u8>> {
        let ser = self.0.clone();
        Step::Async(Box::pin(async move {
            ser.write(stream, &events).await.map_err(io_err)
        }))
    }

    fn close(&self, stream: u32) -> Step<Vec<u8>> {
        let ser = self.0.clone();
        Step::Async(Box::pin(
            async move { ser.close(stream).await.map_err(io_err) },
        ))
    }

    fn reopen(&self, stream: u32) -> Step<Vec<u8>> {
        let ser = self.0.clone();
        Step::Async(Box::pin(
            async move { ser.reopen(stream).await.map_err(io_err) },
        ))
    }
}

/// The serializers of one sink, in their JVM.
#[derive(Debug)]
pub(crate) struct JavaSerializer {
    caller: Caller,
    keep_event_id: bool,
}

impl JavaSerializer {
    /// Starts the JVM of sink `sink`'s serializer (on the current tokio runtime).
    pub(crate) fn start(sink: &str, spec: &JavaSerializerSpec) -> JavaSerializer {
        let keep_event_id = spec.keep_event_id;
        let spec = call::spec(
            Role::Serializer,
            &spec.class,
            format!("{sink}.serializer"),
            spec.props.clone(),
        );
        JavaSerializer {
            caller: Caller::start(spec),
            keep_event_id,
        }
    }

    /// A new file's serializer on stream `stream`: `afterCreate()`'s bytes.
    pub(crate) async fn create(&self, stream: u32) -> Result<Vec<u8>, CallError> {
        self.op(stream, SerializeOp::Create, &[]).await
    }

    /// An existing file's serializer on stream `stream`: `afterReopen()`'s bytes (a
    /// serializer that does not `supportsReopen()` throws).
    pub(crate) async fn reopen(&self, stream: u32) -> Result<Vec<u8>, CallError> {
        self.op(stream, SerializeOp::Reopen, &[]).await
    }

    /// `write(e)` of each event, then `flush()`: the bytes of the batch. The serializer sees
    /// the events' own headers: the event id only with the sink's `keepEventId`.
    pub(crate) async fn write(&self, stream: u32, events: &[Event]) -> Result<Vec<u8>, CallError> {
        let stripped: Vec<Event>;
        let events = if self.keep_event_id
            || !events
                .iter()
                .any(|e| e.headers.contains_key(sluice_core::dedup::EVENT_ID_HEADER))
        {
            events
        } else {
            stripped = events
                .iter()
                .map(|e| crate::agent::out_headers::without_id(e, false).into_owned())
                .collect();
            &stripped
        };
        let mut out = Vec::new();
        for run in frame_runs(events, &self.caller)? {
            out.extend(self.op(stream, SerializeOp::Write, run).await?);
        }
        Ok(out)
    }

    /// `flush()`, `beforeClose()`: the file's last bytes; the stream is forgotten.
    pub(crate) async fn close(&self, stream: u32) -> Result<Vec<u8>, CallError> {
        self.op(stream, SerializeOp::Close, &[]).await
    }

    async fn op(
        &self,
        stream: u32,
        op: SerializeOp,
        events: &[Event],
    ) -> Result<Vec<u8>, CallError> {
        match self
            .caller
            .call(encode_serialize(stream, op, events))
            .await?
        {
            FromJvm::Written(bytes) => Ok(bytes),
            _ => Err(self.caller.wrong("answered a SERIALIZE with another kind")),
        }
    }
}
