//! A Java event serializer (`sink.serializer = com.example.Lengths$Builder` on a `file_roll`
//! sink, `serializer = ...` on an `hdfs` sink): its `EventSerializer.Builder` lives in a JVM
//! of its own, which builds one serializer per output file (a stream number the sink picks)
//! on an output stream that only collects bytes. Each call hands back what the serializer
//! wrote into it during the call (`afterCreate`'s header, a batch's `write`s then `flush`,
//! `beforeClose`'s footer), and the sink writes those bytes into its own file under its own
//! durability rules: a take commits only once the bytes of its batch are durable. A JVM that
//! ends loses its streams: the sink then leaves its file (a new one starts with the next batch).

use super::call::{self, frame_runs, CallError, Caller};
use super::frame::{encode_serialize, FromJvm, Role, SerializeOp};
use crate::agent::config::Ctx;
use sluice_core::Event;

/// Flume's TEXT serializer by its class name (Sluice's own TEXT).
pub(crate) const FLUME_TEXT: &str =
    "org.apache.flume.serialization.BodyTextEventSerializer$Builder";
/// Flume's HEADER_AND_TEXT serializer by its class name (Sluice's own).
pub(crate) const FLUME_HEADER_AND_TEXT: &str =
    "org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder";
/// Flume's `avro_event` serializer by its class name (Sluice's own).
pub(crate) const FLUME_AVRO_EVENT: &str =
    "org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder";
/// Flume's serializers by class name that are Sluice's own, never a user's Java class.
const FLUME_OWN: &[&str] = &[FLUME_TEXT, FLUME_HEADER_AND_TEXT, FLUME_AVRO_EVENT];

/// A sink's Java serializer: the builder's class and its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaSerializerSpec {
    /// The `EventSerializer.Builder` class.
    pub class: String,
    /// Its keys without the sink's serializer prefix (Flume's serializer `Context`).
    pub props: Vec<(String, String)>,
    /// The sink's `keepEventId`: the serializer sees the event id among the headers.
    pub keep_event_id: bool,
}

/// Reads `key` (`sink.serializer`, `serializer`) as a Java builder class when it is one: the
/// keys under `key.` become its Context (and are all read). `None` when `key` is unset or
/// not a class name (one of the sink's own serializers).
pub(crate) fn parse(cx: &mut Ctx<'_>, key: &str) -> Option<JavaSerializerSpec> {
    let class = cx.get(key)?;
    if !super::is_class_name(&class) || FLUME_OWN.contains(&class.trim()) {
        return None;
    }
    let prefix = format!("{key}.");
    let keys: Vec<String> = cx
        .comp()
        .props
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .cloned()
        .collect();
    let mut props = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(v) = cx.get(&k) {
            props.push((k[prefix.len()..].to_owned(), v));
        }
    }
    Some(JavaSerializerSpec {
        class: class.trim().to_owned(),
        props,
        keep_event_id: crate::agent::out_headers::keep_event_id(cx),
    })
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
