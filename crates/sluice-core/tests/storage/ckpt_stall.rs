//! A checkpoint stops no commit: commits go on while a checkpoint is inside its slow part
//! (waiting for a directory another commit is stuck writing or fsyncing), and a checkpoint
//! taken while a commit is appended but not yet applied still recovers the queue exactly,
//! after a power loss too. The stalls are made with a file system that parks one segment
//! write or fsync until the test lets it go (no timing assertions: waits are only bounds that
//! turn a hang into a failure).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use sluice_core::io::{DirLock, Fs, FsFile, OpenMode, SimFs};
use sluice_core::{FileChannel, FileChannelConfig};

/// How long a step may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(60);

/// Which segment operation to park.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Park {
    Write,
    Fsync,
}

/// One parked operation: armed once, it tells `entered` when a segment operation of its
/// kind starts and holds it until `release` is signalled.
#[derive(Debug, Default)]
struct Trap {
    armed: Option<(Park, Sender<()>, Receiver<()>)>,
}

/// A file system that passes everything to a `SimFs`, except the one operation its trap parks.
#[derive(Clone, Debug)]
struct ParkingFs {
    sim: SimFs,
    trap: Arc<Mutex<Trap>>,
}

#[derive(Debug)]
struct ParkingFile {
    inner: Arc<dyn FsFile>,
    trap: Arc<Mutex<Trap>>,
}

impl ParkingFile {
    fn maybe_park(&self, kind: Park) {
        let armed = {
            let mut t = self.trap.lock().unwrap();
            match &t.armed {
                Some((k, _, _)) if *k == kind => t.armed.take(),
                _ => None,
            }
        };
        if let Some((_, entered, release)) = armed {
            entered.send(()).unwrap();
            release.recv_timeout(HANG).expect("the test never released");
        }
    }
}

impl FsFile for ParkingFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.maybe_park(Park::Write);
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.maybe_park(Park::Fsync);
        self.inner.sync_data()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn is_unlinked(&self) -> io::Result<bool> {
        self.inner.is_unlinked()
    }
}

impl Fs for ParkingFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.sim.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.sim.list_dir(path)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FsFile>> {
        let inner = self.sim.open(path, mode)?;
        let segment = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("log-"));
        if !segment {
            return Ok(inner);
        }
        Ok(Arc::new(ParkingFile {
            inner,
            trap: self.trap.clone(),
        }))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.sim.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.sim.remove_dir(path)
    }
    fn posix_lock_holder(&self, path: &Path) -> io::Result<Option<u32>> {
        self.sim.posix_lock_holder(path)
    }
    fn file_info(&self, path: &Path) -> io::Result<sluice_core::io::FileInfo> {
        self.sim.file_info(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.sim.rename(from, to)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.sim.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.sim.exists(path)
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.sim.lock_dir(dir)
    }
    fn available_space(&self, path: &Path) -> io::Result<u64> {
        self.sim.available_space(path)
    }
}

impl ParkingFs {
    fn new(seed: u64) -> Self {
        ParkingFs {
            sim: SimFs::new(seed),
            trap: Arc::default(),
        }
    }

    /// Parks the next segment operation of `kind`; returns (entered, release).
    fn arm(&self, kind: Park) -> (Receiver<()>, Sender<()>) {
        let (entered_tx, entered_rx) = channel();
        let (release_tx, release_rx) = channel();
        self.trap.lock().unwrap().armed = Some((kind, entered_tx, release_rx));
        (entered_rx, release_tx)
    }
}

fn config() -> FileChannelConfig {
    config_under(&PathBuf::from("/sim"), 2)
}

fn open(fs: &ParkingFs, cfg: &FileChannelConfig) -> FileChannel {
    FileChannel::open_with_fs(cfg.clone(), Arc::new(fs.clone())).unwrap()
}

/// Runs `f` on a thread; its result arrives on the receiver.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Reopens the crash image of `fs` (power lost now); returns the queue and the records
/// replayed after the checkpoint.
fn after_power_loss(fs: &ParkingFs, cfg: &FileChannelConfig, seed: u64) -> (Vec<String>, u64) {
    let img = fs.sim.crash_image(seed);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
    let q = peek_all(&ch);
    let records = ch.recovery_info().report.records;
    ch.close().unwrap();
    (q, records)
}

#[test]
fn commits_go_on_while_a_checkpoint_waits_for_a_commit_stuck_in_its_write() {
    let fs = ParkingFs::new(3);
    let cfg = config();
    let ch = open(&fs, &cfg);
    // Both directories get a segment, so no later commit rolls.
    put_all(&ch, &["w0"]);
    put_all(&ch, &["w1"]);
    let (entered, release) = fs.arm(Park::Write);
    let stuck = {
        let ch = ch.clone();
        spawn(move || put_all(&ch, &["stuck"]))
    };
    entered.recv_timeout(HANG).expect("the commit never wrote");
    // The checkpoint cannot finish: it must sync the directory whose writer is stuck.
    let ckpt = {
        let ch = ch.clone();
        spawn(move || ch.checkpoint())
    };
    let mut expected = vec!["w0".to_owned(), "w1".to_owned()];
    for i in 0..20 {
        // Give the checkpoint time to reach whatever it waits for (an old exclusive gate would
        // now hold every new commit back); the test passes however long this is.
        std::thread::sleep(Duration::from_millis(5));
        let body = format!("free{i}");
        let done = {
            let (ch, body) = (ch.clone(), body.clone());
            spawn(move || put_all(&ch, &[&body]))
        };
        match done.recv_timeout(HANG) {
            Ok(()) => expected.push(body),
            Err(RecvTimeoutError::Timeout) => panic!("commit {i} waited for the checkpoint"),
            Err(e) => panic!("commit {i} failed: {e}"),
        }
    }
    assert!(
        matches!(ckpt.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)),
        "the checkpoint finished while a directory was stuck"
    );
    release.send(()).unwrap();
    stuck
        .recv_timeout(HANG)
        .expect("the stuck commit never ended");
    ckpt.recv_timeout(HANG)
        .expect("the checkpoint never ended")
        .unwrap();
    // The stuck commit went to one directory, the free ones to the other; order by commit.
    let queue = peek_all(&ch);
    let mut sorted = queue.clone();
    sorted.sort();
    expected.push("stuck".to_owned());
    expected.sort();
    assert_eq!(sorted, expected);
    // The checkpoint written meanwhile recovers the same queue after a power loss.
    assert_eq!(after_power_loss(&fs, &cfg, 11).0, queue);
    ch.close().unwrap();
}

#[test]
fn a_checkpoint_during_a_commit_waiting_for_its_fsync_recovers_the_queue_exactly() {
    let fs = ParkingFs::new(5);
    let mut cfg = config();
    cfg.data_dirs.truncate(1);
    let ch = open(&fs, &cfg);
    put_all(&ch, &["e1", "e2", "e3"]);
    let (entered, release) = fs.arm(Park::Fsync);
    // One commit that takes e1 and puts e4: appended, then parked in its fsync.
    let pending = {
        let ch = ch.clone();
        spawn(move || {
            let mut tx = ch.transaction();
            let took = tx.take().unwrap().map(|e| e.into_parts().1);
            tx.put(ev("e4")).unwrap();
            tx.commit().map(|()| took)
        })
    };
    entered.recv_timeout(HANG).expect("the commit never synced");
    let ckpt = {
        let ch = ch.clone();
        spawn(move || ch.checkpoint())
    };
    // Let the checkpoint take its snapshot while the commit is still pending (it cannot
    // finish before the fsync returns; the outcome must be the same whenever it snapshots).
    std::thread::sleep(Duration::from_millis(50));
    release.send(()).unwrap();
    let took = pending
        .recv_timeout(HANG)
        .expect("the commit never ended")
        .unwrap();
    assert_eq!(took.as_deref(), Some(&b"e1"[..]));
    ckpt.recv_timeout(HANG)
        .expect("the checkpoint never ended")
        .unwrap();
    let want = ["e2", "e3", "e4"];
    assert_eq!(peek_all(&ch), want);
    // Power lost right after the checkpoint: nothing was written after it, so the image
    // alone must hold the commit's effects (its take and its put).
    for seed in 0..3 {
        let (queue, records) = after_power_loss(&fs, &cfg, seed);
        assert_eq!(queue, want, "seed {seed}");
        assert_eq!(records, 0, "records replayed after the image, seed {seed}");
    }
    ch.close().unwrap();
    let ch = open(&fs, &cfg);
    assert_eq!(drain(&ch), want);
}
