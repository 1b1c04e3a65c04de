//! The uploads of an S3 sink's rolled files, waiting or running in the background: a roll
//! closes its staged file (already fdatasynced) and queues it here, and the batch that
//! rolled it goes on at once. At most [`UPLOADS_AT_ONCE`] run at a time (each a multipart
//! upload with its own parts in flight, `super::upload`); one that failed waits its backoff
//! ([`retry_after`]) and is tried again, for as long as the sink runs; the staged file stays
//! where it is until the store confirmed the whole object, so a file in this queue is never
//! lost: after a crash start-up recovery queues it again.
//!
//! The cut back (exactly-once output) and start-up recovery change staged files an upload
//! reads, so they hold the queue ([`UploadQueue::pause`]): the uploads running then finish
//! first and no other starts until [`UploadQueue::resume`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use object_store::path::Path as ObjPath;
use parking_lot::{Condvar, Mutex};

/// Uploads of one sink running at the same time.
pub const UPLOADS_AT_ONCE: usize = 2;
/// The first wait before a failed upload is tried again (doubling up to `hdfs.retryInterval`).
pub const RETRY_BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// One staged file to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The staged (local) file.
    pub staged: PathBuf,
    /// Its object key.
    pub key: ObjPath,
    /// Failed attempts so far.
    pub tries: u32,
    /// Not tried again before then.
    pub next: Instant,
}

#[derive(Debug, Default)]
struct State {
    waiting: VecDeque<Upload>,
    running: Vec<PathBuf>,
    paused: u32,
    closed: bool,
}

/// The queue shared by the sink's writer and its upload workers.
#[derive(Debug, Default)]
pub struct UploadQueue {
    state: Mutex<State>,
    changed: Condvar,
}

/// The wait after the `tries`-th failed attempt: [`RETRY_BACKOFF_FIRST`] doubling, at most
/// `max` (and at least the first wait).
pub fn retry_after(tries: u32, max: Duration) -> Duration {
    let doubled = RETRY_BACKOFF_FIRST.saturating_mul(1u32 << tries.saturating_sub(1).min(16));
    doubled.min(max.max(RETRY_BACKOFF_FIRST))
}

impl UploadQueue {
    /// Queues the staged file `staged` for `key` (once: a file already waiting is tried
    /// again now, under this key).
    pub fn push(&self, staged: &Path, key: ObjPath) {
        let mut s = self.state.lock();
        let now = Instant::now();
        match s.waiting.iter_mut().find(|u| u.staged == staged) {
            Some(u) => {
                u.key = key;
                u.next = now;
            }
            None => s.waiting.push_back(Upload {
                staged: staged.to_owned(),
                key,
                tries: 0,
                next: now,
            }),
        }
        self.changed.notify_all();
    }

    /// The next upload due (blocking until there is one), marked running; `None` once the
    /// queue is closed.
    pub fn take(&self) -> Option<Upload> {
        let mut s = self.state.lock();
        loop {
            if s.closed {
                return None;
            }
            let now = Instant::now();
            if s.paused == 0 {
                if let Some(i) = s.waiting.iter().position(|u| u.next <= now) {
                    let u = s.waiting.remove(i)?;
                    s.running.push(u.staged.clone());
                    return Some(u);
                }
            }
            let due = s.waiting.iter().map(|u| u.next).min();
            match due.filter(|_| s.paused == 0) {
                Some(at) => {
                    self.changed.wait_until(&mut s, at);
                }
                None => self.changed.wait(&mut s),
            }
        }
    }

    /// Ends a running upload: done, or failed and waiting `backoff` for its next attempt.
    pub fn finish(&self, mut u: Upload, failed: Option<Duration>) {
        let mut s = self.state.lock();
        if let Some(i) = s.running.iter().position(|p| *p == u.staged) {
            s.running.swap_remove(i);
        }
        if let Some(backoff) = failed {
            u.tries = u.tries.saturating_add(1);
            u.next = Instant::now() + backoff;
            if !s.waiting.iter().any(|w| w.staged == u.staged) {
                s.waiting.push_back(u);
            }
        }
        self.changed.notify_all();
    }

    /// Holds the queue: waits for the running uploads to end; no other starts until
    /// [`UploadQueue::resume`].
    pub fn pause(&self) {
        let mut s = self.state.lock();
        s.paused += 1;
        while !s.running.is_empty() {
            self.changed.wait(&mut s);
        }
    }

    /// Ends one [`UploadQueue::pause`].
    pub fn resume(&self) {
        let mut s = self.state.lock();
        s.paused = s.paused.saturating_sub(1);
        self.changed.notify_all();
    }

    /// Forgets the waiting upload of `staged` (its file was removed by the cut back).
    pub fn forget(&self, staged: &Path) {
        self.state.lock().waiting.retain(|u| u.staged != staged);
    }

    /// Waits until nothing waits or runs, at most until `deadline`; the staged files still
    /// queued then.
    pub fn drain(&self, deadline: Instant) -> Vec<PathBuf> {
        let mut s = self.state.lock();
        while !(s.waiting.is_empty() && s.running.is_empty()) {
            if self.changed.wait_until(&mut s, deadline).timed_out() {
                break;
            }
        }
        let mut left: Vec<PathBuf> = s.running.clone();
        left.extend(s.waiting.iter().map(|u| u.staged.clone()));
        left
    }

    /// Whether an upload is running (one ending may free staging space).
    pub fn running(&self) -> bool {
        !self.state.lock().running.is_empty()
    }

    /// Waits for an upload to end or the queue to change, at most until `deadline`; false
    /// when the deadline passed.
    pub fn wait_change(&self, deadline: Instant) -> bool {
        let mut s = self.state.lock();
        !self.changed.wait_until(&mut s, deadline).timed_out()
    }

    /// The uploads waiting and running.
    pub fn len(&self) -> usize {
        let s = self.state.lock();
        s.waiting.len() + s.running.len()
    }

    /// Whether nothing waits or runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the workers (each after its running upload); what waits stays staged.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> ObjPath {
        ObjPath::from(k)
    }

    #[test]
    fn a_file_is_queued_once_and_a_failed_upload_waits_its_backoff() {
        let q = UploadQueue::default();
        q.push(Path::new("/s/a.tmp"), key("a"));
        q.push(Path::new("/s/a.tmp"), key("a"));
        q.push(Path::new("/s/b.tmp"), key("b"));
        assert_eq!(q.len(), 2);
        let a = q.take().unwrap();
        assert_eq!(a.staged, Path::new("/s/a.tmp"));
        assert!(q.running());
        q.finish(a, Some(Duration::from_secs(3600)));
        let b = q.take().unwrap();
        assert_eq!(b.key, key("b"), "the failed one waits; the next goes first");
        q.finish(b, None);
        assert_eq!(q.len(), 1, "the failed upload is still queued");
        let left = q.drain(Instant::now() + Duration::from_millis(20));
        assert_eq!(left, vec![PathBuf::from("/s/a.tmp")]);
        q.forget(Path::new("/s/a.tmp"));
        assert!(q.is_empty());
    }

    #[test]
    fn a_paused_queue_starts_nothing_and_closing_ends_the_workers() {
        let q = std::sync::Arc::new(UploadQueue::default());
        q.pause();
        q.push(Path::new("/s/a.tmp"), key("a"));
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || q.take())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!q.running(), "nothing starts while paused");
        q.close();
        assert_eq!(worker.join().unwrap(), None);
        assert_eq!(q.len(), 1, "what waits stays queued (and staged)");
    }

    #[test]
    fn the_backoff_doubles_up_to_the_retry_interval() {
        let max = Duration::from_secs(10);
        assert_eq!(retry_after(1, max), Duration::from_secs(1));
        assert_eq!(retry_after(2, max), Duration::from_secs(2));
        assert_eq!(retry_after(4, max), Duration::from_secs(8));
        assert_eq!(retry_after(5, max), max);
        assert_eq!(retry_after(u32::MAX, max), max);
        assert_eq!(retry_after(3, Duration::ZERO), RETRY_BACKOFF_FIRST);
    }
}
