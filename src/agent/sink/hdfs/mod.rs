//! `type = hdfs`: Flume's HDFS sink, the rolling-file engine ([`super::rolling`]) on the
//! path `hdfs.path` names: a local or mounted directory, an `hdfs://` cluster or an
//! `s3a://` bucket. The keys are Flume's (`hdfs.*`, read by [`rolling::config`]); the sink is
//! the engine's [`RollingSink`].

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
        Box::new(RollingSink::new(name, self.clone()))
    }
}
