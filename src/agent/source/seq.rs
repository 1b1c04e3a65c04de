//! The `seq` source: events whose bodies are 0, 1, 2, ... in batches of `batchSize`, up to
//! `totalEvents`. A batch that is not accepted is retried, so no number is skipped.

use super::{SourceCtx, SourceError};
use crate::agent::config::types::SeqConfig;
use sluice_core::Event;

/// Runs until `totalEvents` were sent and then idles until stopped.
pub async fn run(cfg: SeqConfig, mut ctx: SourceCtx) -> Result<(), SourceError> {
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
