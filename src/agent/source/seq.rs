//! The `seq` source: events whose bodies are 0, 1, 2, ... in batches of `batchSize`, up to
//! `totalEvents`. A batch that is not accepted is retried, so no number is skipped.

use super::{SourceCtx, SourceError};
use crate::agent::config::Ctx;
use sluice_core::Event;

/// `seq` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqConfig {
    /// `totalEvents` (default `i64::MAX`, as Flume's `Long.MAX_VALUE`).
    pub total_events: u64,
    /// `batchSize` (default 1).
    pub batch_size: usize,
}

/// Reads a `seq` source's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<SeqConfig> {
    Some(SeqConfig {
        total_events: cx.u64("totalEvents", i64::MAX as u64, 0, i64::MAX as u64),
        batch_size: cx.batch_size("batchSize", 1),
    })
}

/// Runs until `totalEvents` were sent and then idles until stopped.
pub(crate) async fn run(cfg: SeqConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
    let mut next: u64 = 0;
    while next < cfg.total_events && !ctx.stop.is_set() {
        let n = (cfg.batch_size as u64).min(cfg.total_events - next);
        let batch: Vec<Event> = (next..next + n)
            .map(|i| Event::new(i.to_string().into_bytes()))
            .collect();
        if !ctx.put_with_retry(batch).await {
            break;
        }
        next += n;
        tokio::task::yield_now().await;
    }
    ctx.stop.wait().await;
    Ok(())
}

impl crate::agent::source::BuildSource for SeqConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
