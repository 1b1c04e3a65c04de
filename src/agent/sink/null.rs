//! The `null` sink (Flume's `NullSink`): takes `batchSize` events (100) per transaction and
//! drops them.

use crate::agent::config::Ctx;

/// `null` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullConfig {
    /// `batchSize` (default 100): events per take transaction.
    pub batch_size: usize,
}

/// Reads a `null` sink's keys.
pub fn parse(cx: &mut Ctx<'_>) -> Option<NullConfig> {
    Some(NullConfig {
        batch_size: cx.batch_size("batchSize", 100),
    })
}
