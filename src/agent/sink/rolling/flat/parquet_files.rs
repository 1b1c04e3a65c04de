//! The flat writer's side of the `parquet` serializer ([`crate::agent::sink::rolling::parquet`]):
//! its open file is the staged file `<name>.rows`, whose batches are also written to the
//! Parquet file beside the deliveries ([`Background`]); a roll (or an abandoned file)
//! publishes it, or writes it from the staged rows when it does not hold exactly them; the staged file of a rolled file is removed once the
//! runner can no longer hold a take of its rows open (the writer's pipeline depth of
//! batches later), else at the next start; and at start every staged file is settled
//! against the last committed cursor ([`settle`]).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::resume::{order_of, After, FlatNames};
use super::staged::OpenFile;
use super::{FlatWriter, RollSerializer};
use crate::agent::sink::rolling::parquet::background::Background;
use crate::agent::sink::rolling::parquet::{
    convert, stage, ParquetSpec, STAGED_SUFFIX, TMP_SUFFIX,
};
use crate::agent::sink::rolling::store::Store;
use crate::agent::sink::SinkError;
use sluice_core::io::Fs;
use sluice_core::Event;

/// The flat writer's Parquet state.
#[derive(Debug, Default)]
pub(crate) struct ParquetFiles {
    /// Staged files of rolled files, with the batches delivered when they rolled.
    rolled: Vec<(PathBuf, u64)>,
    /// Batches delivered.
    delivered: u64,
    /// Whether the staged files left in the directory were settled.
    settled: bool,
    /// The open file's Parquet file, written beside the deliveries.
    open: Option<Background>,
}

/// What [`settle`] did.
#[derive(Debug, Default)]
struct Settled {
    published: u64,
    removed: u64,
    cut_bytes: u64,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// The final name of a staged path.
fn final_of(staged: &Path) -> Option<PathBuf> {
    let name = staged.file_name()?.to_str()?.strip_suffix(STAGED_SUFFIX)?;
    Some(staged.with_file_name(name))
}

impl FlatWriter {
    /// The Parquet settings, when the serializer is `parquet`.
    pub(super) fn parquet_spec(&self) -> Option<&ParquetSpec> {
        match &self.cfg.serializer {
            RollSerializer::Parquet(spec) => Some(spec),
            _ => None,
        }
    }

    /// Stages a batch's records at byte `at` of the open staged `file`, and hands its events
    /// to the Parquet file written beside the deliveries ([`Background`], started at the
    /// file's first batch). The staged file's length after them.
    pub(super) async fn parquet_stage(
        &mut self,
        file: &Arc<OpenFile>,
        events: &[Event],
        at: u64,
    ) -> Result<u64, SinkError> {
        let (Some(spec), Some(target)) = (
            self.parquet_spec().cloned(),
            self.path.as_ref().and_then(|(p, _)| final_of(p)),
        ) else {
            return Err(SinkError::disk(self.name.clone(), "no open Parquet file"));
        };
        let end = if self.cfg.fsync_per_batch {
            file.stage_with(|staged| stage::encode_batch(staged, events, spec.keep_id))
        } else {
            let mut bytes = Vec::with_capacity(events.iter().map(|e| e.body.len() + 64).sum());
            stage::encode_batch(&mut bytes, events, spec.keep_id);
            self.put_bytes(file, bytes, at).await?
        };
        if at == 0
            && self
                .pq
                .open
                .as_ref()
                .is_none_or(|b| b.target() != target.as_path())
        {
            self.pq.open = Some(Background::start(self.fs.clone(), spec, target));
        }
        if let Some(b) = self.pq.open.as_mut() {
            b.feed(events, end).await;
        }
        Ok(end)
    }

    /// After a delivered batch: removes the staged files of rolled files whose takes the
    /// runner can no longer hold open.
    pub(super) async fn parquet_delivered(&mut self) {
        self.pq.delivered += 1;
        let (depth, now) = (self.pipeline_depth() as u64, self.pq.delivered);
        let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pq.rolled)
            .into_iter()
            .partition(|(_, at)| now - at > depth);
        self.pq.rolled = keep;
        for (path, _) in done {
            let store = self.store.clone();
            let p = path.clone();
            if let Err(e) = blocking(move || store.remove(&p)).await {
                tracing::warn!(sink = %self.name, path = %path.display(), error = %e, "removing a rolled Parquet file's staged rows failed; the next start removes them");
            }
        }
    }

    /// Writes the Parquet file of the open staged file (`len` bytes of batches), once its
    /// batches are synced (a failed sync: the file is cut back to its last synced batch, as
    /// the runner rolls back the rest). The staged file is kept until its takes commit.
    pub(super) async fn parquet_roll(&mut self, file: Arc<OpenFile>, staged: PathBuf, len: u64) {
        let mut keep = len;
        if self.cfg.fsync_per_batch && file.clone().sync_through(len).await.is_err() {
            keep = file.synced();
            let f = file.clone();
            if let Err(e) = blocking(move || f.cut(keep)).await {
                tracing::warn!(sink = %self.name, path = %staged.display(), error = %e, "cutting back a staged Parquet file failed; the next start finishes it");
                return;
            }
        }
        drop(file);
        self.parquet_publish(staged, keep).await;
    }

    /// Writes the Parquet file of `staged` (its first `len` bytes) and remembers the staged
    /// file for removal.
    pub(super) async fn parquet_publish(&mut self, staged: PathBuf, len: u64) {
        let (Some(spec), Some(target)) = (self.parquet_spec().cloned(), final_of(&staged)) else {
            return;
        };
        // The file written beside the deliveries, when it holds exactly these rows; else
        // from the staged rows.
        let beside = self
            .pq
            .open
            .take()
            .filter(|b| b.target() == target.as_path());
        let done = match beside {
            Some(b) => b.finish(len).await,
            None => None,
        };
        let (fs, s) = (self.fs.clone(), staged.clone());
        let done = match done {
            Some(done) => done,
            None => {
                blocking(move || convert::publish(fs.as_ref(), &spec, &s, &target, Some(len))).await
            }
        };
        match done {
            Ok(p) => {
                log_oddities(&self.name, &staged, p.odd);
                tracing::debug!(sink = %self.name, path = %staged.display(), rows = p.rows, "Parquet file written");
                self.pq.rolled.push((staged, self.pq.delivered));
            }
            Err(e) => {
                tracing::warn!(sink = %self.name, path = %staged.display(), error = %e, "writing a Parquet file failed; its rows stay staged and the next start writes it");
            }
        }
    }

    /// Settles the staged files left in the directory against the last committed cursor
    /// (once it succeeded; `cursor` is `None` when the channel keeps none).
    pub(super) async fn parquet_settle(
        &mut self,
        cursor: Option<(PathBuf, u64)>,
    ) -> Result<(), SinkError> {
        let Some(spec) = self.parquet_spec().cloned() else {
            return Ok(());
        };
        if self.pq.settled {
            return Ok(());
        }
        let (fs, store) = (self.fs.clone(), self.store.clone());
        let (dir, pm) = (self.cfg.directory.clone(), self.cfg.path_manager.clone());
        let done = blocking(move || {
            let names = FlatNames::of(&pm);
            settle(fs.as_ref(), store.as_ref(), &spec, &dir, &names, cursor)
        })
        .await
        .map_err(|e| self.err("finishing the Parquet files a stop or crash left", e))?;
        // Only once it succeeded: a settle that failed is done again before the next batch.
        self.pq.settled = true;
        if done.published + done.removed + done.cut_bytes > 0 {
            tracing::info!(sink = %self.name, published = done.published, removed_files = done.removed, cut_bytes = done.cut_bytes, "Parquet files settled against the last committed take");
        }
        Ok(())
    }
}

fn log_oddities(sink: &str, path: &Path, odd: crate::agent::sink::rolling::parquet::Oddities) {
    if odd.bad_timestamps > 0 {
        tracing::warn!(sink, path = %path.display(), rows = odd.bad_timestamps, "rows whose timestamp header is not a whole number: their timestamp column is null (the header keeps its text)");
    }
    if odd.lossy_bodies > 0 {
        tracing::warn!(sink, path = %path.display(), rows = odd.lossy_bodies, "bodies that are not UTF-8 written as STRING (bodyAsString): their bad bytes became U+FFFD");
    }
}

/// Settles `dir` at start: a half-written `.tmp` is removed; a staged file before the
/// cursor's has all its rows committed (its Parquet file is written if it is missing, then
/// it is removed); the cursor's is cut to the cursor's length and its Parquet file written
/// from it (again, when it had more); a later one, and a Parquet file after the cursor's,
/// hold no committed row and are removed. Without a cursor every staged file is finished.
fn settle(
    fs: &dyn Fs,
    store: &dyn Store,
    spec: &ParquetSpec,
    dir: &Path,
    names: &FlatNames<'_>,
    cursor: Option<(PathBuf, u64)>,
) -> std::io::Result<Settled> {
    let mut done = Settled::default();
    let order = |name: &str| order_of(names, name);
    // The cursor's order, and when its staged rows were last written (read before any cut).
    let mark = match cursor.as_ref().and_then(|(p, len)| {
        let name = final_of(p)?.file_name()?.to_str()?.to_owned();
        Some((p, name, *len))
    }) {
        Some((p, name, len)) => After::of(store, names, p, &name)?.map(|a| (a, len)),
        None => None,
    };
    let entries = match store.list_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(e),
    };
    for entry in entries.iter().filter(|e| !e.is_dir) {
        let path = dir.join(&entry.name);
        if let Some(stem) = entry.name.strip_suffix(TMP_SUFFIX) {
            // Its staged file's turn (listed before it) may have written and renamed it.
            if order(stem).is_some() && store.exists(&path)? {
                store.remove(&path)?;
            }
            continue;
        }
        if let Some(stem) = entry.name.strip_suffix(STAGED_SUFFIX) {
            let Some(o) = order(stem) else { continue };
            let target = dir.join(stem);
            let versus = match mark.as_ref() {
                Some((a, len)) => {
                    let v = match o.cmp(a.mark()) {
                        Ordering::Equal => Ordering::Equal,
                        _ if a.holds(store, names, stem, &path)? => Ordering::Greater,
                        _ => Ordering::Less,
                    };
                    Some((v, *len))
                }
                None => None,
            };
            settle_staged(fs, store, spec, &path, &target, versus, &mut done)?;
            continue;
        }
        let later = match mark.as_ref() {
            Some((a, _)) => a.holds(store, names, &entry.name, &path)?,
            None => false,
        };
        // Its staged file's turn may have removed it already.
        if later && store.exists(&path)? {
            store.remove(&path)?;
            done.removed += 1;
        }
    }
    Ok(done)
}

/// One staged file at start; `versus`: its order against the cursor's file, and the
/// cursor's length.
fn settle_staged(
    fs: &dyn Fs,
    store: &dyn Store,
    spec: &ParquetSpec,
    staged: &Path,
    target: &Path,
    versus: Option<(Ordering, u64)>,
    done: &mut Settled,
) -> std::io::Result<()> {
    let limit = match versus {
        Some((Ordering::Greater, _)) => {
            if store.exists(target)? {
                store.remove(target)?;
            }
            store.remove(staged)?;
            done.removed += 1;
            return Ok(());
        }
        Some((Ordering::Equal, len)) => {
            let size = store.len(staged)?;
            if size > len {
                done.cut_bytes += size - len;
            } else if store.exists(target)? {
                // Its Parquet file was written from all of it: nothing to cut.
                return store.remove(staged);
            }
            Some(len)
        }
        _ if store.exists(target)? => return store.remove(staged),
        _ => None,
    };
    if convert::publish(fs, spec, staged, target, limit)?.rows > 0 {
        done.published += 1;
    }
    store.remove(staged)
}
