//! The staging space of an S3 sink: how many bytes its staged files hold
//! ([`StagedGauge`], published as `StagedBytes`), the bound on them (`hdfs.maxStagedBytes`:
//! a batch that would pass it is refused before anything is written, so the take rolls back
//! and the channel holds the events; one WARN when the bound is first reached, one INFO when
//! uploads brought the staged bytes down to half the bound again: a staging space that
//! uploads drain while the sink refills it is one episode, not a WARN per batch), and the
//! open staged file that counts what it appends.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::agent::sink::rolling::store::StoreFile;
use sluice_core::io::{Fs, OpenMode};

/// Deepest directory level of the staging directory walked at start.
pub const STAGING_DEPTH_MAX: usize = 16;

/// The bytes staged now, their bound, and whether the bound is being hit.
#[derive(Debug, Default)]
pub struct StagedGauge {
    bytes: AtomicU64,
    max_bytes: AtomicU64,
    refusals: AtomicU64,
    full: AtomicBool,
    /// The staging directory, for the log lines.
    dir: PathBuf,
    /// The bound's key as the user wrote it (`hdfs.maxStagedBytes`, `maxStagedBytes`).
    key: String,
}

impl StagedGauge {
    /// A gauge for the staging space `dir` of `max_bytes`.
    pub fn new(max_bytes: u64, dir: &Path, key: String) -> StagedGauge {
        StagedGauge {
            max_bytes: AtomicU64::new(max_bytes),
            dir: dir.to_owned(),
            key,
            ..StagedGauge::default()
        }
    }

    /// Bytes staged now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Batches refused for want of staging space since start.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Counts `n` more staged bytes.
    pub fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` staged bytes gone (uploaded, cut or removed); ends a full episode (one
    /// INFO) once at most half the bound is staged.
    pub fn sub(&self, n: u64) {
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(n))
            });
        let now = self.bytes();
        if now <= self.max_bytes.load(Ordering::Relaxed) / 2
            && self.full.swap(false, Ordering::Relaxed)
        {
            tracing::info!(staging = %self.dir.display(), staged_bytes = now, "S3 staging has room again; takes resume");
        }
    }

    /// Sets the staged bytes (the walk at start).
    pub fn set(&self, n: u64) {
        self.bytes.store(n, Ordering::Relaxed);
    }

    /// Whether `need` more bytes fit now (no side effect; [`StagedGauge::admit`] decides).
    pub fn has_room(&self, need: u64) -> bool {
        let now = self.bytes();
        now == 0 || now.saturating_add(need) <= self.max_bytes.load(Ordering::Relaxed)
    }

    /// Whether `need` more bytes may be staged: always when nothing is staged (a batch larger
    /// than the bound alone still goes through), else only within the bound. A refusal is
    /// an error of kind `StorageFull` naming the directory and both numbers; the first one
    /// since the staging space was last at most half full logs a WARN.
    pub fn admit(&self, need: u64) -> io::Result<()> {
        let (now, max) = (self.bytes(), self.max_bytes.load(Ordering::Relaxed));
        if self.has_room(need) {
            return Ok(());
        }
        self.refusals.fetch_add(1, Ordering::Relaxed);
        let msg = format!(
            "S3 staging {} holds {now} bytes; {need} more would pass {} ({max}): the batch waits in the channel until staged files are uploaded",
            self.dir.display(),
            self.key
        );
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!("{msg}");
        }
        Err(io::Error::new(io::ErrorKind::StorageFull, msg))
    }
}

/// The bytes of the files under `dir` (at most [`STAGING_DEPTH_MAX`] levels); 0 when it does
/// not exist.
pub fn staged_bytes(fs: &dyn Fs, dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![(dir.to_owned(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let names = match fs.list_dir(&d) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for name in names {
            let p = d.join(&name);
            if fs.list_dir(&p).is_ok() {
                if depth < STAGING_DEPTH_MAX {
                    stack.push((p, depth + 1));
                }
                continue;
            }
            total = total.saturating_add(fs.open(&p, OpenMode::Read)?.len()?);
        }
    }
    Ok(total)
}

/// An open staged file: a local file that counts what it appends in the gauge.
#[derive(Debug)]
pub struct StagedFile {
    /// The local file.
    pub inner: Box<dyn StoreFile>,
    /// The sink's staged bytes.
    pub gauge: Arc<StagedGauge>,
}

impl StoreFile for StagedFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.append(bytes)?;
        self.gauge.add(bytes.len() as u64);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }

    fn close(&mut self) -> io::Result<()> {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_refuses_past_it_and_admits_again_once_uploads_freed_room() {
        let g = StagedGauge::new(1000, Path::new("/staging"), "maxStagedBytes".into());
        assert!(
            g.admit(5000).is_ok(),
            "nothing staged: a big batch goes through"
        );
        g.add(900);
        assert!(g.admit(100).is_ok());
        let e = g.admit(101).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(e.to_string().contains(" maxStagedBytes (1000)"), "{e}");
        assert_eq!(g.refusals(), 1);
        g.sub(900);
        assert!(g.admit(101).is_ok());
        g.sub(5);
        assert_eq!(g.bytes(), 0, "never below zero");
    }
}
