//! The staged group sync (the flat writer's, `super::super::flat`): a batch is rendered into the
//! open file's pending bytes and acknowledged ([`crate::agent::sink::Acks`]) by a trip to the
//! blocking pool that writes every pending batch and then fsyncs; the runner awaits that before it
//! commits the batch's take. One trip covers every batch staged before it started, so while one
//! runs the next batches are taken and staged, and the one after it writes and syncs them all: a
//! take still commits only after its bytes are durable, with one trip to the blocking pool (one
//! write, one fsync) per group of batches instead of a write per batch and an fsync per group. A
//! failed write or fsync marks the file (every later acknowledgement of it fails) and the sink: the
//! runner rolls back that batch and every later one, so before it writes again the sink cuts its
//! current file back to what that file's last good fsync covered (a batch staged after a roll is in
//! the new file), and no batch is kept twice. Without `sink.fsyncPerBatch` a batch is written at
//! once ([`OpenFile::write_batch`]) and nothing is synced. The file is an `io::Fs` file: every
//! write is positioned (`pwrite` at the staged bytes' offset), so it runs on `SimFs` as on the
//! disk.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use sluice_core::io::{Fs, FsFile};
use sluice_core::Event;

/// An open output file shared by the sink (which stages batches) and the acknowledgements
/// (which write and fsync them).
#[derive(Debug)]
pub(crate) struct OpenFile {
    /// The file system, for the directory's fsync.
    fs: Arc<dyn Fs>,
    file: Arc<dyn FsFile>,
    /// Batches staged and not yet written, and the file's length once they are.
    pending: parking_lot::Mutex<Pending>,
    /// Bytes the last good fsync covered.
    synced: AtomicU64,
    /// A write or fsync failed: nothing after `synced` may be relied on.
    failed: AtomicBool,
    /// The sink's flag, set with `failed`: some batch was not acknowledged.
    sink_failed: Arc<AtomicBool>,
    /// The directory to fsync with the first fsync (the file is new), until done.
    dir: parking_lot::Mutex<Option<PathBuf>>,
    /// One write-and-fsync at a time, so a waiter finds whether the one before covered it.
    turn: tokio::sync::Mutex<()>,
}

/// Staged bytes: whole batches, in order, ending at byte `end` of the file.
#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    end: u64,
}

impl OpenFile {
    /// A new (empty) file of `fs` whose entry in `dir` is made durable with its first fsync;
    /// a failed write or fsync also sets `sink_failed`.
    pub(crate) fn new(
        fs: Arc<dyn Fs>,
        file: Arc<dyn FsFile>,
        dir: Option<PathBuf>,
        sink_failed: Arc<AtomicBool>,
    ) -> Arc<Self> {
        Arc::new(OpenFile {
            fs,
            file,
            pending: parking_lot::Mutex::default(),
            synced: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            sink_failed,
            dir: parking_lot::Mutex::new(dir),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// Writes one batch at byte `at` (the file's length) now; on failure cuts the file back
    /// to `at`, so a retry does not write the batch twice. On the blocking pool; for a sink
    /// that does not sync (a syncing one stages its batches instead).
    pub(crate) fn write_batch(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        let result = self.file.write_all_at(bytes, at);
        if result.is_err() {
            if let Err(cut) = self.file.set_len(at) {
                tracing::warn!(error = %cut, "cutting a failed batch from the file failed; its events will be written again");
            }
        }
        result
    }

    /// Renders a batch (each event as `style` says) after the staged ones; the file's length
    /// once it is written. No I/O: the next [`OpenFile::sync_through`] writes it.
    pub(crate) fn stage(&self, events: &[Event], style: LineStyle) -> u64 {
        let mut p = self.pending.lock();
        let before = p.bytes.len();
        render_into(&mut p.bytes, events, style);
        p.end += (p.bytes.len() - before) as u64;
        p.end
    }

    /// Stages a batch that `render` appends to the staged bytes (the `parquet` serializer's
    /// records, encoded in place: no copy of the batch); the file's length once it is written.
    pub(crate) fn stage_with(&self, render: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let mut p = self.pending.lock();
        let before = p.bytes.len();
        render(&mut p.bytes);
        p.end += (p.bytes.len() - before) as u64;
        p.end
    }

    /// Stages bytes already rendered (a Java serializer's) after the staged ones; the file's
    /// length once they are written.
    pub(crate) fn stage_bytes(&self, bytes: &[u8]) -> u64 {
        let mut p = self.pending.lock();
        p.bytes.extend_from_slice(bytes);
        p.end += bytes.len() as u64;
        p.end
    }

    /// Writes the staged batches, then fdatasyncs (and the directory of a new file, the first
    /// time); the length the fsync covers. Blocking.
    fn write_and_sync(&self) -> std::io::Result<u64> {
        let (mut bytes, end) = {
            let mut p = self.pending.lock();
            (std::mem::take(&mut p.bytes), p.end)
        };
        // The staged bytes end at `end`: they start where the file's written bytes end.
        let at = end
            .checked_sub(bytes.len() as u64)
            .ok_or_else(|| std::io::Error::other("staged bytes past the staged end"))?;
        self.file
            .write_all_at(&bytes, at)
            .map_err(|e| std::io::Error::new(e.kind(), format!("writing: {e}")))?;
        bytes.clear();
        {
            // The buffer back for the next batches, unless some were staged meanwhile.
            let mut p = self.pending.lock();
            if p.bytes.is_empty() {
                p.bytes = bytes;
            }
        }
        self.file
            .sync_data()
            .map_err(|e| std::io::Error::new(e.kind(), format!("fdatasync: {e}")))?;
        let dir = self.dir.lock().clone();
        if let Some(d) = dir {
            self.fs.sync_dir(&d).map_err(|e| {
                std::io::Error::new(e.kind(), format!("fsync of {}: {e}", d.display()))
            })?;
            *self.dir.lock() = None;
        }
        Ok(end)
    }

    /// Returns once the file's first `len` bytes are durable: at once if an earlier trip
    /// covered them, else after one that writes everything staged so far and fsyncs.
    pub(crate) async fn sync_through(self: Arc<Self>, len: u64) -> std::io::Result<()> {
        let _turn = self.turn.lock().await;
        if self.failed.load(Ordering::Acquire) {
            return Err(std::io::Error::other(
                "an earlier write or fsync of this file failed",
            ));
        }
        if self.synced.load(Ordering::Acquire) >= len {
            return Ok(());
        }
        let me = self.clone();
        let result = tokio::task::spawn_blocking(move || me.write_and_sync())
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match result {
            Ok(end) => self.synced.fetch_max(end, Ordering::AcqRel),
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

/// How `TEXT` and `HEADER_AND_TEXT` write one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineStyle {
    /// `appendNewline`: a newline after each body.
    pub(crate) newline: bool,
    /// `HEADER_AND_TEXT`: Java's `Map.toString()` of the headers and a space before the body.
    pub(crate) headers: bool,
    /// `keepEventId`: the event id among those headers.
    pub(crate) keep_id: bool,
}

/// Appends a batch's bytes to `out`: for each event its headers as Flume prints them (with
/// `style.headers`), its body, then a newline (with `style.newline`).
pub(crate) fn render_into(out: &mut Vec<u8>, events: &[Event], style: LineStyle) {
    let size: usize = events
        .iter()
        .map(|e| e.body.len() + usize::from(style.newline))
        .sum();
    out.reserve(size);
    for e in events {
        if style.headers {
            crate::agent::out_headers::write_header_text(out, e, style.keep_id);
        }
        out.extend_from_slice(&e.body);
        if style.newline {
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "the tests read the written file on the real disk"
)]
mod tests {
    use super::*;
    use sluice_core::io::{OpenMode, StdFs};

    /// `path` opened on the real disk as `mode`, and that file system.
    fn open(path: &std::path::Path, mode: OpenMode) -> (Arc<dyn Fs>, Arc<dyn FsFile>) {
        (Arc::new(StdFs), StdFs.open(path, mode).unwrap())
    }

    const LINES: LineStyle = LineStyle {
        newline: true,
        headers: false,
        keep_id: false,
    };
    const BODIES: LineStyle = LineStyle {
        newline: false,
        headers: false,
        keep_id: false,
    };

    fn batch(bodies: &[&str]) -> Vec<Event> {
        bodies.iter().map(|b| Event::new(b.to_string())).collect()
    }

    #[tokio::test]
    async fn one_trip_writes_and_syncs_every_batch_staged_before_it_and_a_failed_one_marks_the_file(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let failures = Arc::new(AtomicBool::new(false));
        let (fs, file) = open(&path, OpenMode::CreateNew);
        let f = OpenFile::new(fs, file, Some(dir.path().to_owned()), failures.clone());
        assert_eq!(f.stage(&batch(&["one"]), LINES), 4);
        assert_eq!(f.stage(&batch(&["two", "2"]), LINES), 10);
        assert_eq!(f.stage(&batch(&["three"]), LINES), 16);
        // Staged is not written.
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert_eq!(f.synced(), 0);
        f.clone().sync_through(4).await.unwrap();
        // The first batch's trip wrote and synced all three, and the directory.
        assert_eq!(f.synced(), 16);
        assert!(f.dir.lock().is_none());
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n2\nthree\n");
        // Covered already: no trip, no write.
        f.clone().sync_through(16).await.unwrap();
        assert_eq!(f.stage(&batch(&["four"]), BODIES), 20);
        f.clone().sync_through(20).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n2\nthree\nfour");
        assert!(!failures.load(Ordering::Acquire));
        // After a failure later acknowledgements fail; the sink cuts to `synced`.
        f.failed.store(true, Ordering::Release);
        assert!(f.clone().sync_through(30).await.is_err());
        assert_eq!(f.synced(), 20);
    }

    #[tokio::test]
    async fn a_failed_write_fails_the_acknowledgement_and_marks_the_file_and_the_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"").unwrap();
        let failures = Arc::new(AtomicBool::new(false));
        // Opened read-only: the write fails (EBADF), as a full disk's would.
        let (fs, file) = open(&path, OpenMode::Read);
        let f = OpenFile::new(fs, file, None, failures.clone());
        f.stage(&batch(&["lost"]), LINES);
        let e = f.clone().sync_through(5).await.unwrap_err();
        assert!(e.to_string().starts_with("writing: "), "{e}");
        assert!(failures.load(Ordering::Acquire));
        assert_eq!(f.synced(), 0);
        f.stage(&batch(&["after"]), LINES);
        assert!(
            f.clone().sync_through(11).await.is_err(),
            "the file stays failed"
        );
    }
}
