//! The serializer seam: a serializer the engine is handed by name ([`SerializerSpec`]: a
//! class and its keys, `serializer = com.example.Lengths$Builder`), started by whoever hosts
//! it ([`StartSerializer`]), and asked for a file's bytes per stream ([`StreamSerializer`]:
//! a new file's header, a batch, a file's footer). Each answer is a [`Step`]: `Sync` when
//! the serializer answers in the call, `Async` when it answers later (the Java host's, in a
//! JVM of its own); the writer's blocking thread waits for one through the engine's one
//! bridge ([`super::bridge::Bridge`]), and the flat writer (async) awaits it ([`Step::run`]).
//! The engine names no host: the Java host adapts its serializer to this seam (its
//! `serializer` module's `starter`), and `type = hdfs`, `type = s3` and `type = file_roll`
//! hand it to their writer ([`super::RollingSink::with_serializer`], [`super::flat`]).

use std::fmt::Debug;
use std::io;
use std::sync::Arc;

use super::bridge::Bridge;
use crate::agent::config::ctx::Ctx;
use crate::agent::future::BoxFuture;
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
/// Flume's serializers by class name that are Sluice's own, never a user's class.
const FLUME_OWN: &[&str] = &[FLUME_TEXT, FLUME_HEADER_AND_TEXT, FLUME_AVRO_EVENT];

/// One answer of a serializer: now, or a future to await.
pub enum Step<T> {
    /// The answer, given in the call.
    Sync(io::Result<T>),
    /// The answer, once this future is done (a serializer in another process).
    Async(BoxFuture<'static, io::Result<T>>),
}

impl<T> Step<T> {
    /// The answer, waiting on `bridge` for an `Async` one (on the writer's blocking thread).
    pub fn wait(self, bridge: &Bridge) -> io::Result<T> {
        match self {
            Step::Sync(r) => r,
            Step::Async(f) => bridge.wait(f),
        }
    }

    /// The answer, awaited (on the runtime: the flat writer's path, which is async).
    pub async fn run(self) -> io::Result<T> {
        match self {
            Step::Sync(r) => r,
            Step::Async(f) => f.await,
        }
    }
}

impl<T> Debug for Step<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Sync(_) => "Step::Sync",
            Step::Async(_) => "Step::Async",
        })
    }
}

/// A serializer of files, one stream per open file (numbered by the writer: never two open
/// files with one number). Every answer is the bytes to append to that file.
pub trait StreamSerializer: Send + Sync + Debug {
    /// A new file on stream `stream`: its first bytes (`afterCreate()`).
    fn create(&self, stream: u32) -> Step<Vec<u8>>;
    /// A batch's bytes on stream `stream` (`write(e)` of each event, then `flush()`).
    fn write(&self, stream: u32, events: Vec<Event>) -> Step<Vec<u8>>;
    /// The file's last bytes (`beforeClose()`); the stream is forgotten.
    fn close(&self, stream: u32) -> Step<Vec<u8>>;
    /// An existing file on stream `stream` (cut back to its last committed batch after a
    /// restart): its bytes on reopening (`afterReopen()`). Refused (`Unsupported`) by a
    /// serializer that cannot reopen a file, as here.
    fn reopen(&self, stream: u32) -> Step<Vec<u8>> {
        Step::Sync(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the serializer cannot reopen stream {stream}"),
        )))
    }
}

/// Starts a sink's serializer (its host's process starts then, with the sink's first file).
#[derive(Clone)]
pub struct StartSerializer(pub Arc<dyn Fn() -> Arc<dyn StreamSerializer> + Send + Sync>);

impl StartSerializer {
    /// The serializer, started now.
    pub fn start(&self) -> Arc<dyn StreamSerializer> {
        (self.0)()
    }
}

impl Debug for StartSerializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartSerializer")
    }
}

/// A serializer named by its builder class, with its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerializerSpec {
    /// The `EventSerializer.Builder` class.
    pub class: String,
    /// Its keys without the sink's serializer prefix (Flume's serializer `Context`).
    pub props: Vec<(String, String)>,
    /// The sink's `keepEventId`: the serializer sees the event id among the headers.
    pub keep_event_id: bool,
}

/// Reads `key` (`sink.serializer`, `serializer`) as a builder class when it is one: the
/// keys under `key.` become its Context (and are all read). `None` when `key` is unset or
/// not a class name (one of the sink's own serializers).
pub(crate) fn parse_spec(cx: &mut Ctx<'_>, key: &str) -> Option<SerializerSpec> {
    let class = cx.get(key)?;
    if !crate::agent::component::is_class_name(&class) || FLUME_OWN.contains(&class.trim()) {
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
    Some(SerializerSpec {
        class: class.trim().to_owned(),
        props,
        keep_event_id: crate::agent::out_headers::keep_event_id(cx),
    })
}
