//! One trip of the TAILDIR task to the blocking pool: move the positions committed last,
//! write the position file, scan, read the next batches and, when the channels put on the
//! calling thread, put them on a blocking thread as one group commit. The put holds no
//! tailer: while a full channel holds it (up to its `keep-alive`) the task still scans and
//! applies the deleted-file limits ([`super::retry`]), sparing the files of the group.

use std::sync::Arc;
use std::time::Instant;

use super::counts::{accepted, received};
use super::retry::{keep_and_limit, Limits, LIMITS_CHECK_INTERVAL};
use super::tail::{blocking, Tail};
use super::GROUP_BATCHES_MAX;
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::source::taildir::config::TaildirConfig;
use crate::agent::source::taildir::tailer::Batch;
use crate::agent::source::{SourceCtx, SourceError, SourceErrorKind};

/// What one trip to the blocking pool did.
pub(super) enum Trip {
    /// Nothing to read (the position file was written as idle: [`Tail::save_idle`]).
    Idle,
    /// A batch read and not put; `true` when it was offered once already (refused, counted
    /// as received).
    Read(Batch, bool),
    /// Batches read and put on the blocking thread as one group: those committed (file, end;
    /// a prefix) and the rest, refused there, to retry in order.
    Put {
        done: Vec<(u64, u64)>,
        retry: Vec<Batch>,
    },
}

/// One trip to the blocking pool: moves the positions of the batches committed last (`done`)
/// and writes the position file, notes the changed `paths`, scans when `scan`, reads the
/// next batch and, when the channels put on the calling thread, up to [`GROUP_BATCHES_MAX`]
/// that are already there, and puts them as one group ([`put_here`]).
pub(super) async fn read_batch(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    cfg: &Arc<TaildirConfig>,
    done: Vec<(u64, u64)>,
    paths: Vec<std::path::PathBuf>,
    scan: bool,
) -> Result<Trip, SourceError> {
    let c = cfg.clone();
    let here = ctx.router.blocking().map(|router| Here {
        name: ctx.name.clone(),
        router,
        counters: ctx.counters.clone(),
    });
    let grouped = here.is_some();
    let read = blocking(slot, ctx, move |s| {
        s.commit_and_save(done, false, &c);
        let t = &mut s.tailer;
        t.touched(&paths);
        if scan {
            t.scan();
            t.close_deleted(Instant::now(), false, &[]);
            t.close_idle();
        }
        let Some(batch) = t.next_batch() else {
            s.save_idle(&c);
            return Read::Idle;
        };
        s.busy();
        let t = &mut s.tailer;
        // The fresh origins of the batches' files are saved (`seal`) before they leave.
        if !grouped {
            let mut one = [batch];
            t.seal(&mut one);
            let [batch] = one;
            return Read::One(batch);
        }
        // Up to GROUP_BATCHES_MAX batches, and no more bytes than one batch may hold: eight
        // 8 MiB pieces of an unterminated line in one group had the channel's writer grow its
        // tail to 128 MiB (and cut into another), 360 MiB at the peak.
        let mut bytes = batch_bytes(&batch);
        let mut group = vec![batch];
        while group.len() < GROUP_BATCHES_MAX && bytes < c.max_batch_bytes {
            match t.next_batch() {
                Some(b) => {
                    bytes += batch_bytes(&b);
                    group.push(b);
                }
                None => break,
            }
        }
        t.seal(&mut group);
        Read::Group(group)
    })
    .await?;
    match (read, here) {
        (Read::Idle, _) => Ok(Trip::Idle),
        (Read::One(batch), _) => Ok(Trip::Read(batch, false)),
        (Read::Group(group), Some(h)) => put_group(slot, ctx, h, group).await,
        (Read::Group(group), None) => Ok(Trip::Put {
            done: Vec::new(),
            retry: group,
        }),
    }
}

/// The bytes of a batch's events (headers and bodies).
fn batch_bytes(b: &Batch) -> usize {
    b.events.iter().map(|e| e.payload_bytes()).sum()
}

/// What the blocking part of a trip read.
enum Read {
    Idle,
    /// A batch for the task to put.
    One(Batch),
    /// Batches to put on a blocking thread as one group.
    Group(Vec<Batch>),
}

/// The first attempt to put `group` ([`put_here`]) on a blocking thread of its own, applying
/// the deleted-file limits while a full channel holds it (sparing the group's own files).
async fn put_group(
    slot: &mut Option<Tail>,
    ctx: &SourceCtx,
    h: Here,
    group: Vec<Batch>,
) -> Result<Trip, SourceError> {
    let spare: Vec<u64> = group.iter().map(|b| b.inode).collect();
    let put = tokio::task::spawn_blocking(move || put_here(&h, group));
    tokio::pin!(put);
    loop {
        tokio::select! {
            out = &mut put => {
                return out.map_err(|e| {
                    ctx.fail(SourceErrorKind::Internal, format!("TAILDIR put failed: {e}"))
                });
            }
            () = tokio::time::sleep(LIMITS_CHECK_INTERVAL) => {
                keep_and_limit(slot, ctx, &mut Vec::new(), Limits::Sparing(spare.clone())).await?;
            }
        }
    }
}

/// What putting on the blocking thread needs of the source.
struct Here {
    name: String,
    router: crate::agent::router::BlockingRouter,
    counters: Arc<CounterGroup>,
}

/// The first attempt to put `group`, on the blocking thread (the channels put there), each
/// batch its own transaction, committed as one group; the batches refused go back to the
/// task, which retries them in order with backoff.
fn put_here(h: &Here, group: Vec<Batch>) -> Trip {
    let counts: Vec<u64> = group
        .iter()
        .map(|b| received(&h.counters, &h.name, &b.events))
        .collect();
    let results = h
        .router
        .put_group(group.iter().map(|b| b.events.clone()).collect());
    let mut done = Vec::with_capacity(group.len());
    let mut retry = Vec::new();
    for ((batch, r), n) in group.into_iter().zip(results).zip(counts) {
        match r {
            Ok(()) if retry.is_empty() => {
                accepted(&h.counters, n);
                done.push((batch.inode, batch.end));
            }
            Ok(()) => retry.push(batch),
            Err(r) => {
                if retry.is_empty() {
                    h.counters.add(SourceCounter::ChannelWriteFail, 1);
                    tracing::warn!(source = %h.name, error = %r.error, "batch not accepted; retrying");
                }
                retry.push(batch);
            }
        }
    }
    Trip::Put { done, retry }
}
