//! file_roll's group sync: a batch is written at once and fsynced by its acknowledgement
//! ([`crate::agent::sink::Acks`]), which the runner awaits before it commits the batch's take.
//! One fsync covers every batch written before it started, so while one fsync runs the next
//! batches are taken and written, and the one after it syncs them all: a take still commits
//! only after its bytes are durable, with one fsync per group of batches instead of per
//! batch. A failed fsync marks the file (every later acknowledgement of it fails) and the
//! sink: the runner rolls back that batch and every later one, so before it writes again the
//! sink cuts its current file back to what that file's last good fsync covered (a batch
//! written after a roll is in the new file), and no batch is kept twice.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Take transactions a file_roll runner keeps open while their batches wait for a shared
/// fsync (the runner's [`crate::agent::sink::Sink::pipeline_depth`]). 8, not 4: W2's
/// collector (Flume's 100-event batches) then keeps up with its avro source, at 0.85 of the
/// CPU per event; 16 measured no better (docs/performance.md).
pub(crate) const GROUP_SYNC_DEPTH: usize = 8;

/// An open output file shared by the sink (writes) and the acknowledgements (fsyncs).
#[derive(Debug)]
pub(crate) struct OpenFile {
    file: File,
    /// Bytes of whole batches written.
    written: AtomicU64,
    /// Bytes the last good fsync covered.
    synced: AtomicU64,
    /// An fsync failed: nothing after `synced` may be relied on.
    failed: AtomicBool,
    /// The sink's flag, set with `failed`: some batch was not acknowledged.
    sink_failed: Arc<AtomicBool>,
    /// The directory to fsync with the first fsync (the file is new), until done.
    dir: parking_lot::Mutex<Option<PathBuf>>,
    /// One fsync at a time, so a waiter finds whether the one before covered it.
    turn: tokio::sync::Mutex<()>,
}

impl OpenFile {
    /// A new file whose entry in `dir` is made durable with its first fsync; a failed fsync
    /// also sets `sink_failed`.
    pub(crate) fn new(file: File, dir: Option<PathBuf>, sink_failed: Arc<AtomicBool>) -> Arc<Self> {
        Arc::new(OpenFile {
            file,
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            sink_failed,
            dir: parking_lot::Mutex::new(dir),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// Writes one batch at byte `at` (the file's length); on failure cuts the file back to
    /// `at`, so a retry does not write the batch twice. On the blocking pool.
    pub(crate) fn write_batch(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        let result = (&self.file).write_all(bytes);
        if result.is_err() {
            if let Err(cut) = self.file.set_len(at) {
                tracing::warn!(error = %cut, "cutting a failed batch from the file failed; its events will be written again");
            }
        } else {
            self.written
                .store(at + bytes.len() as u64, Ordering::Release);
        }
        result
    }

    /// fdatasyncs now (and the directory of a new file, the first time); blocking.
    fn sync_now(&self) -> std::io::Result<()> {
        self.file.sync_data()?;
        let dir = self.dir.lock().clone();
        if let Some(d) = dir {
            File::open(d)?.sync_all()?;
            *self.dir.lock() = None;
        }
        Ok(())
    }

    /// Returns once the file's first `len` bytes are durable: at once if an earlier fsync
    /// covered them, else after an fsync of everything written so far.
    pub(crate) async fn sync_through(self: Arc<Self>, len: u64) -> std::io::Result<()> {
        let _turn = self.turn.lock().await;
        if self.failed.load(Ordering::Acquire) {
            return Err(std::io::Error::other(
                "an earlier fsync of this file failed",
            ));
        }
        if self.synced.load(Ordering::Acquire) >= len {
            return Ok(());
        }
        let target = self.written.load(Ordering::Acquire).max(len);
        let me = self.clone();
        let result = tokio::task::spawn_blocking(move || me.sync_now())
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match result {
            Ok(()) => self.synced.fetch_max(target, Ordering::AcqRel),
            Err(e) => {
                self.failed.store(true, Ordering::Release);
                self.sink_failed.store(true, Ordering::Release);
                return Err(e);
            }
        };
        Ok(())
    }

    /// The bytes the last good fsync covered.
    pub(crate) fn synced(&self) -> u64 {
        self.synced.load(Ordering::Acquire)
    }

    /// Cuts the file back to `len` (on the blocking pool).
    pub(crate) fn cut(&self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_fsync_covers_every_batch_written_before_it_and_a_failed_one_marks_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let failures = Arc::new(AtomicBool::new(false));
        let f = OpenFile::new(
            File::create(&path).unwrap(),
            Some(dir.path().to_owned()),
            failures.clone(),
        );
        f.write_batch(b"one\n", 0).unwrap();
        f.write_batch(b"two\n", 4).unwrap();
        f.write_batch(b"three\n", 8).unwrap();
        assert_eq!(f.synced.load(Ordering::Acquire), 0);
        f.clone().sync_through(4).await.unwrap();
        // The first batch's fsync covered all three, and the directory.
        assert_eq!(f.synced.load(Ordering::Acquire), 14);
        assert!(f.dir.lock().is_none());
        f.clone().sync_through(14).await.unwrap();
        assert!(!failures.load(Ordering::Acquire));
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\nthree\n");
        // After a failed fsync later acknowledgements fail; the sink cuts to `synced`.
        f.failed.store(true, Ordering::Release);
        assert!(f.clone().sync_through(20).await.is_err());
        assert_eq!(f.synced(), 14);
    }
}
