//! The Parquet file of the open staged file, written beside the sink's deliveries: each
//! batch staged is also handed (as its events, shared, not copied) to a task on the blocking
//! pool that adds its rows to `<name>.tmp` and writes each row group as it fills, so at roll
//! only the last row group and the footer remain ([`Background::finish`]).
//!
//! The durability contract does not move: the staged file is still what a crash leaves and
//! what the start settles from, and `<name>.tmp` reaches its final name only whole (fsynced,
//! renamed, the directory fsynced), as [`super::convert::publish`] writes it. The file is
//! used only when it holds exactly the staged file's rows: the staged length its batches
//! came to must be the length the roll keeps. Otherwise (a failed fsync cut the staged file
//! back, a write failed, the task was started after the file's first batch) `finish` gives
//! it up (its `.tmp` removed) and says so, and the caller writes the file from the staged
//! rows as before.
//!
//! Memory: at most [`QUEUE_BATCHES`] batches wait for the task (then `feed` waits: the
//! sink goes at the writer's pace), and one row group is buffered, as in `convert`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::io::Fs;
use sluice_core::Event;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::convert::{Output, Published};
use super::ParquetSpec;

/// Batches handed to the task and not yet added (then `feed` waits).
pub const QUEUE_BATCHES: usize = 4;

enum Msg {
    /// A batch's events.
    Rows(Vec<Event>),
    /// Publish the file: the staged bytes its rows came from, and where to answer.
    Finish(u64, oneshot::Sender<io::Result<Published>>),
}

/// The Parquet file of one staged file, written on the blocking pool (see the module docs).
#[derive(Debug)]
pub struct Background {
    target: PathBuf,
    tx: mpsc::Sender<Msg>,
    task: JoinHandle<()>,
    /// The staged file's length after the last batch handed over.
    fed: u64,
    /// A batch could not be handed over (the task stopped on an error).
    broken: bool,
}

impl Background {
    /// Starts writing `target` (as `<target>.tmp`) from the batches of its staged file, from
    /// the staged file's first byte.
    pub fn start(fs: Arc<dyn Fs>, spec: ParquetSpec, target: PathBuf) -> Background {
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let t = target.clone();
        let task = tokio::task::spawn_blocking(move || run(fs.as_ref(), &spec, &t, rx));
        Background {
            target,
            tx,
            task,
            fed: 0,
            broken: false,
        }
    }

    /// The Parquet file it writes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Hands over a batch whose records end the staged file at byte `end`. Waits while
    /// [`QUEUE_BATCHES`] batches wait for the task. Cancel safety: a batch dropped while
    /// waiting leaves the counts apart, so `finish` gives the file up.
    pub async fn feed(&mut self, events: &[Event], end: u64) {
        if self.broken {
            return;
        }
        self.broken = true;
        if self.tx.send(Msg::Rows(events.to_vec())).await.is_ok() {
            self.fed = end;
            self.broken = false;
        }
    }

    /// Publishes the file when it holds exactly the staged file's first `len` bytes of rows:
    /// `Some` with what was published (or the error that stopped it); `None` when it does
    /// not, its `.tmp` removed, for the caller to write it from the staged rows.
    pub async fn finish(self, len: u64) -> Option<io::Result<Published>> {
        let Background {
            tx,
            task,
            fed,
            broken,
            ..
        } = self;
        if broken || fed != len {
            drop(tx);
            // The task removes its `.tmp` before it ends: the caller may write the same one.
            let _ = task.await;
            return None;
        }
        let (answer, answered) = oneshot::channel();
        if tx.send(Msg::Finish(len, answer)).await.is_err() {
            let _ = task.await;
            return None;
        }
        let published = answered.await.ok();
        let _ = task.await;
        published
    }
}

/// The task: adds each batch's rows; publishes at `Finish`; gives the file up when the
/// channel closes first or a write fails.
fn run(fs: &dyn Fs, spec: &ParquetSpec, target: &Path, mut rx: mpsc::Receiver<Msg>) {
    let mut out = match Output::create(fs, spec, target) {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!(path = %target.display(), error = %e, "starting a Parquet file beside the deliveries failed; it is written from its staged rows at roll");
            return;
        }
    };
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Rows(events) => {
                if let Err(e) = events.iter().try_for_each(|e| out.writer.add_event(e)) {
                    tracing::debug!(path = %target.display(), error = %e, "writing a Parquet file beside the deliveries failed; it is written from its staged rows at roll");
                    break;
                }
            }
            Msg::Finish(staged_bytes, answer) => {
                let _ = answer.send(out.publish(fs, staged_bytes));
                return;
            }
        }
    }
    drop(rx);
    if let Err(e) = out.discard(fs) {
        tracing::debug!(path = %target.display(), error = %e, "removing a Parquet file given up failed; the next start removes it");
    }
}
