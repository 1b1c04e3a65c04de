//! The progress line of the channel tools (`verify`, `salvage`, `dump`) on a terminal: bytes
//! of segments read while the channel is scanned, then events while they are copied or
//! printed, with a rate and an estimate of the time left, redrawn in place on stderr four times
//! a second. When stderr is not a terminal (a pipe, a file, a test) nothing is printed: the
//! tools' output stays what scripts parse.
//!
//! The bytes are counted where every read of the core passes, the file-system seam: [`Metered`]
//! wraps the real file system and adds what each `read_at` returned to a counter. Scanning a
//! channel reads every segment once and recovery reads the tail again, so the total (the
//! segments' sizes) is an estimate: the percentage stops at 99 until the phase ends.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sluice_core::io::{DirLock, Fs, FsFile, OpenMode, StdFs};
use sluice_core::FileChannelConfig;

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// A file system that counts the bytes read through it.
#[derive(Debug)]
pub struct Metered {
    inner: Arc<dyn Fs>,
    read: Arc<AtomicU64>,
}

#[derive(Debug)]
struct MeteredFile {
    inner: Arc<dyn FsFile>,
    read: Arc<AtomicU64>,
}

impl FsFile for MeteredFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let n = self.inner.read_at(buf, offset)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn write_all_at_padded(&self, buf: &[u8], zeros: usize, offset: u64) -> std::io::Result<()> {
        self.inner.write_all_at_padded(buf, zeros, offset)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn is_unlinked(&self) -> std::io::Result<bool> {
        self.inner.is_unlinked()
    }
    fn allocate(&self, len: u64) -> std::io::Result<()> {
        self.inner.allocate(len)
    }
    fn prefetch(&self, offset: u64, len: u64) {
        self.inner.prefetch(offset, len)
    }
}

impl Metered {
    fn wrap(&self, f: Arc<dyn FsFile>) -> Arc<dyn FsFile> {
        Arc::new(MeteredFile {
            inner: f,
            read: self.read.clone(),
        })
    }
}

impl Fs for Metered {
    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> std::io::Result<Arc<dyn FsFile>> {
        Ok(self.wrap(self.inner.open(path, mode)?))
    }
    fn open_direct(&self, path: &Path) -> std::io::Result<Arc<dyn FsFile>> {
        Ok(self.wrap(self.inner.open_direct(path)?))
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_dir(path)
    }
    fn posix_lock_holder(&self, path: &Path) -> std::io::Result<Option<u32>> {
        self.inner.posix_lock_holder(path)
    }
    fn file_info(&self, path: &Path) -> std::io::Result<sluice_core::io::FileInfo> {
        self.inner.file_info(path)
    }
    fn remove_own_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.inner.remove_own_dir(dir)
    }
    fn move_entries(
        &self,
        from: &Path,
        to: &Path,
        names: &[String],
        own: sluice_core::io::OwnEnd,
    ) -> std::io::Result<()> {
        self.inner.move_entries(from, to, names, own)
    }
    fn entry_info(&self, path: &Path) -> std::io::Result<sluice_core::io::EntryInfo> {
        self.inner.entry_info(path)
    }
    fn file_identity(&self, path: &Path) -> std::io::Result<(u64, u64)> {
        self.inner.file_identity(path)
    }
    fn host_identity(&self) -> std::io::Result<String> {
        self.inner.host_identity()
    }
    fn open_regular(
        &self,
        path: &Path,
        links: sluice_core::io::Links,
    ) -> std::io::Result<Arc<dyn FsFile>> {
        Ok(self.wrap(self.inner.open_regular(path, links)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> std::io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir(dir)
    }
    fn available_space(&self, path: &Path) -> std::io::Result<u64> {
        self.inner.available_space(path)
    }
    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
}

/// What the line shows now.
#[derive(Debug, Clone)]
struct Phase {
    label: String,
    /// Bytes of segments (true) or events (false).
    bytes: bool,
    total: u64,
    /// The counter's value when the phase began.
    base: u64,
    start: Instant,
}

#[derive(Debug)]
struct Shared {
    done: AtomicBool,
    bytes: Arc<AtomicU64>,
    events: AtomicU64,
    phase: Mutex<Phase>,
}

/// The progress line of one tool run; inert when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    start: Instant,
}

/// Bytes in the segment files (`log-*`) of the channel's data directories.
fn segment_bytes(config: &FileChannelConfig) -> u64 {
    let mut total = 0;
    for dir in &config.data_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("log-") {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

impl Progress {
    /// Starts the line of tool `tool` (`verify`, ...) with a scan of `config`'s segments;
    /// returns the file system the tool reads through.
    pub fn scan(tool: &str, config: &FileChannelConfig) -> (Arc<dyn Fs>, Progress) {
        Self::scan_if(tool, config, std::io::stderr().is_terminal())
    }

    /// [`Progress::scan`], drawn only if `tty`.
    pub fn scan_if(tool: &str, config: &FileChannelConfig, tty: bool) -> (Arc<dyn Fs>, Progress) {
        let bytes = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let shared = Arc::new(Shared {
            done: AtomicBool::new(false),
            bytes: bytes.clone(),
            events: AtomicU64::new(0),
            phase: Mutex::new(Phase {
                label: format!("{tool}: reading the channel"),
                bytes: true,
                total: segment_bytes(config),
                base: 0,
                start,
            }),
        });
        let fs: Arc<dyn Fs> = Arc::new(Metered {
            inner: Arc::new(StdFs),
            read: bytes,
        });
        let thread = tty.then(|| {
            let s = shared.clone();
            std::thread::spawn(move || draw_until_done(&s))
        });
        let p = Progress {
            shared,
            thread,
            start,
        };
        (fs, p)
    }

    /// Switches the line to counting `total` events under `label`; [`Progress::event`]
    /// counts them.
    pub fn events(&self, label: String, total: u64) {
        if let Ok(mut p) = self.shared.phase.lock() {
            *p = Phase {
                label,
                bytes: false,
                total,
                base: self.shared.events.load(Ordering::Relaxed),
                start: Instant::now(),
            };
        }
    }

    /// One more event done.
    pub fn event(&self) {
        self.shared.events.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends the line: on a terminal, a last line with what was read and how long it took.
    pub fn finish(mut self) {
        self.stop(true);
    }

    fn stop(&mut self, summary: bool) {
        self.shared.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            if summary {
                let read = self.shared.bytes.load(Ordering::Relaxed);
                eprint!(
                    "\r{}: read {} in {:.1} s\x1b[K\n",
                    tool_of(&self.shared),
                    mib(read),
                    self.start.elapsed().as_secs_f64()
                );
            }
        }
    }
}

impl Drop for Progress {
    /// A tool that fails clears its line, so its error starts at the left margin.
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop(false);
            eprint!("\r\x1b[K");
        }
    }
}

fn tool_of(shared: &Shared) -> String {
    shared
        .phase
        .lock()
        .map(|p| p.label.split(':').next().unwrap_or("").to_owned())
        .unwrap_or_default()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// The line for `done` of `phase` after `secs`.
fn line(phase: &Phase, done: u64, secs: f64) -> String {
    let pct = if phase.total == 0 {
        0.0
    } else {
        (done as f64 * 100.0 / phase.total as f64).min(99.0)
    };
    let rate = done as f64 / secs.max(1e-3);
    let eta = if rate > 0.0 && phase.total > done {
        format!(", about {:.0} s left", (phase.total - done) as f64 / rate)
    } else {
        String::new()
    };
    if phase.bytes {
        format!(
            "{}: {} of {} ({pct:.0} %), {}/s{eta}",
            phase.label,
            mib(done),
            mib(phase.total),
            mib(rate as u64)
        )
    } else {
        format!(
            "{}: {done} of {} events ({pct:.0} %), {rate:.0}/s{eta}",
            phase.label, phase.total
        )
    }
}

fn draw_until_done(shared: &Shared) {
    let mut err = std::io::stderr();
    while !shared.done.load(Ordering::SeqCst) {
        std::thread::sleep(REDRAW);
        let Ok(phase) = shared.phase.lock().map(|p| p.clone()) else {
            return;
        };
        let counter = if phase.bytes {
            shared.bytes.load(Ordering::Relaxed)
        } else {
            shared.events.load(Ordering::Relaxed)
        };
        let done = counter.saturating_sub(phase.base);
        let text = line(&phase, done, phase.start.elapsed().as_secs_f64());
        let _ = write!(err, "\r{text}\x1b[K");
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(bytes: bool, total: u64) -> Phase {
        Phase {
            label: "verify: reading the channel".into(),
            bytes,
            total,
            base: 0,
            start: Instant::now(),
        }
    }

    #[test]
    fn the_line_says_how_far_how_fast_and_how_long_is_left() {
        let l = line(&phase(true, 100 << 20), 25 << 20, 1.0);
        assert_eq!(
            l,
            "verify: reading the channel: 25.0 MiB of 100.0 MiB (25 %), 25.0 MiB/s, about 3 s left"
        );
        let l = line(&phase(false, 1000), 500, 2.0);
        assert_eq!(
            l,
            "verify: reading the channel: 500 of 1000 events (50 %), 250/s, about 2 s left"
        );
        // Recovery reads the tail twice: past the estimate the line says 99 % and no estimate.
        let l = line(&phase(true, 10 << 20), 12 << 20, 1.0);
        assert!(l.contains("(99 %)") && !l.contains("left"), "{l}");
    }

    #[test]
    fn the_metered_file_system_counts_every_byte_read() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = FileChannelConfig::with_dirs(tmp.path().join("c"), vec![tmp.path().join("d")]);
        let (fs, p) = Progress::scan_if("verify", &cfg, false);
        let path = tmp.path().join("f");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let f = fs.open(&path, OpenMode::Read).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut at = 0;
        while let Ok(n @ 1..) = f.read_at(&mut buf, at) {
            at += n as u64;
        }
        assert_eq!(p.shared.bytes.load(Ordering::Relaxed), 10_000);
        p.finish();
    }
}
