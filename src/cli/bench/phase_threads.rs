//! A phase's putter and taker threads: put batches of numbered events until the phase's stop,
//! take and check them until the queue is drained, recording each commit's latency.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;

use super::args::Stop;
use super::commit_split::{new_hist, Split, LATENCY_NS_MAX};
use super::phase_shared::Shared;

/// How long takers keep polling an empty queue once the putters are done before they give up.
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// Pause of a taker that found the queue empty while putters still run.
const EMPTY_POLL: Duration = Duration::from_micros(200);

/// Records one commit's latency, noting whether a checkpoint overlapped it.
fn record(sh: &Shared<'_>, hist: &mut Histogram<u64>, split: &mut Split, e0: u64, d: Duration) {
    let ns = d.as_nanos().min(u128::from(LATENCY_NS_MAX)) as u64;
    hist.saturating_record(ns);
    let e1 = sh.ckpt_epoch.load(Ordering::SeqCst);
    if e0 % 2 == 1 || e1 != e0 {
        split.during.saturating_record(ns);
    } else {
        split.otherwise.saturating_record(ns);
    }
}

fn finish_thread(sh: &Shared<'_>, hist: &Histogram<u64>, split: &Split) -> anyhow::Result<()> {
    sh.hist.lock().add(hist).context("merging histograms")?;
    sh.split.lock().add(split)
}

/// Puts batches until the phase's stop; its latencies go into the phase's.
pub(super) fn putter(sh: &Shared<'_>) -> anyhow::Result<()> {
    let batch = sh.spec.batch as u64;
    let mut hist = new_hist()?;
    let mut split = Split::new()?;
    while !sh.stop_all.load(Ordering::Relaxed) {
        if sh.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let first = sh.next_id.fetch_add(batch, Ordering::SeqCst);
        let end = match sh.spec.stop {
            Stop::Events(n) => (sh.spec.first_id + n).min(first + batch),
            Stop::Duration(_) => first + batch,
        };
        if first >= end {
            break;
        }
        let mut bytes = 0u64;
        let events: Vec<_> = (first..end)
            .map(|id| {
                bytes += sh.payload.payload_bytes(id) as u64;
                sh.payload.event(id)
            })
            .collect();
        let e0 = sh.ckpt_epoch.load(Ordering::SeqCst);
        let d = sh.queue.put_batch(events)?;
        record(sh, &mut hist, &mut split, e0, d);
        sh.put.fetch_add(end - first, Ordering::Relaxed);
        sh.payload_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    finish_thread(sh, &hist, &split)
}

/// Takes and checks batches until the queue is drained or the take limit reached.
pub(super) fn taker(sh: &Shared<'_>) -> anyhow::Result<()> {
    let mut hist = new_hist()?;
    let mut split = Split::new()?;
    let mut ids = Vec::new();
    let mut damaged = (0u64, Vec::new());
    let mut empty_since: Option<Instant> = None;
    let count_payload = sh.spec.putters == 0;
    while !sh.stop_all.load(Ordering::Relaxed) {
        let want = match sh.spec.take_limit {
            Some(limit) => {
                let done = sh.taken.load(Ordering::SeqCst);
                if done >= limit {
                    break;
                }
                (limit - done).min(sh.spec.batch as u64) as usize
            }
            None => sh.spec.batch,
        };
        let mut bytes = 0u64;
        let mut seen = |e: sluice_core::Event| {
            bytes += e.payload_bytes() as u64;
            match sh.payload.verify(&e, sh.spec.check_size) {
                Ok(id) => ids.push(id),
                Err(err) => {
                    damaged.0 += 1;
                    if damaged.1.len() < 5 {
                        damaged.1.push(err.to_string());
                    }
                }
            }
        };
        let e0 = sh.ckpt_epoch.load(Ordering::SeqCst);
        let (n, d) = sh.queue.take_batch(want, &mut seen)?;
        if n > 0 {
            record(sh, &mut hist, &mut split, e0, d);
            sh.taken.fetch_add(n as u64, Ordering::SeqCst);
            if count_payload {
                sh.payload_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            empty_since = None;
            continue;
        }
        if !sh.putters_done.load(Ordering::SeqCst) {
            std::thread::sleep(EMPTY_POLL);
            continue;
        }
        // Putters are done: stop once everything put was taken, or the queue stays empty.
        let all_put = sh.put.load(Ordering::SeqCst);
        if sh.spec.putters > 0 && sh.taken.load(Ordering::SeqCst) >= all_put {
            break;
        }
        if sh.spec.putters == 0 && sh.queue.queued() == 0 {
            break;
        }
        let since = *empty_since.get_or_insert_with(Instant::now);
        if since.elapsed() > DRAIN_GRACE {
            break;
        }
        std::thread::sleep(EMPTY_POLL);
    }
    sh.taken_ids.lock().extend(ids);
    {
        let mut d = sh.damaged.lock();
        d.0 += damaged.0;
        let room = 5usize.saturating_sub(d.1.len());
        d.1.extend(damaged.1.into_iter().take(room));
    }
    finish_thread(sh, &hist, &split)
}
