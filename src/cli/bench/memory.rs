//! `--channel memory`: the agent's memory channel ([`MemoryChannel`]), driven from the bench's
//! threads. Each thread blocks on the channel's futures with a small runtime of its own. No
//! disk: the ceiling of what the harness itself can drive (event generation, threads, locks).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use sluice::agent::channel::memory::MemoryChannel;
use sluice::agent::channel::memory::MemoryConfig;
use sluice::agent::channel::AgentChannel;
use sluice_core::Event;

use super::queue::{BenchQueue, QueueCounters};

thread_local! {
    static RUNTIME: Result<tokio::runtime::Runtime, String> =
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string());
}

fn block_on<T>(f: impl Future<Output = T>) -> anyhow::Result<T> {
    RUNTIME.with(|rt| match rt {
        Ok(rt) => Ok(rt.block_on(f)),
        Err(e) => Err(anyhow!(
            "cannot start a runtime for the memory channel: {e}"
        )),
    })
}

/// The memory channel, unbounded (the bench chooses batch sizes and volumes itself).
#[derive(Debug)]
pub struct MemoryQueue {
    channel: MemoryChannel,
    commits: AtomicU64,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        let cfg = MemoryConfig::sized(u64::MAX / 2, u64::MAX / 2, Duration::from_secs(3));
        MemoryQueue {
            channel: MemoryChannel::new("bench", cfg),
            commits: AtomicU64::new(0),
        }
    }
}

impl BenchQueue for MemoryQueue {
    fn put_batch(&self, events: Vec<Event>) -> anyhow::Result<Duration> {
        let t = block_on(async {
            let mut tx = self.channel.begin();
            tx.put_all(events).await?;
            let t0 = Instant::now();
            tx.commit().await?;
            Ok::<_, anyhow::Error>(t0.elapsed())
        })??;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(t)
    }

    fn take_batch(
        &self,
        max: usize,
        seen: &mut dyn FnMut(Event),
    ) -> anyhow::Result<(usize, Duration)> {
        let (n, t) = block_on(async {
            let mut tx = self.channel.begin();
            let got = tx.take_up_to(max).await?;
            let n = got.len();
            for e in got {
                seen(e);
            }
            let t0 = Instant::now();
            tx.commit().await?;
            Ok::<_, anyhow::Error>((n, t0.elapsed()))
        })??;
        if n > 0 {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok((n, t))
    }

    fn counters(&self) -> QueueCounters {
        QueueCounters {
            commits: self.commits.load(Ordering::Relaxed),
            fsyncs: 0,
            tail_cache: (0, 0),
            group_commit: Default::default(),
            segments_recycled: 0,
        }
    }

    fn queued(&self) -> u64 {
        self.channel.len() as u64
    }
}
