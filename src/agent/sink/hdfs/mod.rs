//! `type = hdfs`: Flume's HDFS sink, the rolling-file engine ([`super::rolling`]) on the
//! path `hdfs.path` names: a local or mounted directory, an `hdfs://` cluster or an
//! `s3a://` bucket. The keys are Flume's (`hdfs.*`, read by [`rolling::config`]); the sink is
//! the engine's [`RollingSink`], handed the Java host's serializer when `serializer` names a
//! class (`rolling_sink`).

use super::rolling;
use crate::agent::sink::{BuildSink, Sink};
pub use rolling::config::parse;
pub use rolling::{RollingConfig, RollingSink};

impl BuildSink for RollingConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn batch_key(&self) -> &'static str {
        "hdfs.batchSize"
    }

    fn build(&self, name: &str) -> Box<dyn Sink> {
        Box::new(rolling_sink(name, self))
    }
}

/// The engine's sink for `cfg`, handed its Java serializer when `serializer` names a class.
pub(crate) fn rolling_sink(name: &str, cfg: &RollingConfig) -> RollingSink {
    let sink = RollingSink::new(name, cfg.clone());
    match &cfg.serializer_class {
        Some(spec) => sink.with_serializer(crate::agent::java::serializer::starter(name, spec)),
        None => sink,
    }
}
