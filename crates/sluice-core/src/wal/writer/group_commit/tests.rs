//! Group commit under concurrency on the simulated file system: overlapping leaders never
//! acknowledge bytes that no completed fdatasync issued after them covers, and a failed
//! fdatasync fails every waiter it might have covered, even when another leader succeeded.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::super::{DirWriter, DirectIo, Encoded, Poison, WalError};
use crate::event::Event;
use crate::io::{Fs, SimFs, SyncHook};
use crate::wal::record::encode_put;
use crate::wal::segment::segment_file_name;
use crate::wal::table::SegmentTable;

/// How long a hook waits for another sync to overlap it before giving up (a bound, not a
/// timing assertion: the test then fails on the overlap count instead of hanging).
const OVERLAP_WAIT: Duration = Duration::from_secs(5);

fn writer(fs: &SimFs, mode: DirectIo, leaders: usize, max_file_bytes: u64) -> Arc<DirWriter> {
    let dir = PathBuf::from("/d");
    fs.create_dir_all(&dir).unwrap();
    let w = DirWriter::open(
        Arc::new(fs.clone()),
        dir,
        0,
        max_file_bytes,
        Arc::new(Poison::default()),
        Arc::new(AtomicU32::new(1)),
        Arc::new(SegmentTable::default()),
        None,
        (mode, leaders, 0, 1_000_000_000),
    )
    .unwrap();
    w.roll_now().unwrap();
    Arc::new(w)
}

/// One put record of a `len`-byte body of `fill`, salted for `w`'s active segment (the
/// writer re-salts it if a roll comes first), appended; where it landed.
fn append(w: &DirWriter, fill: u8, len: usize) -> Result<super::super::Appended, WalError> {
    append_bytes(w, fill, len).map(|(at, _)| at)
}

/// [`append`], also returning the bytes as written (re-salted if they were).
fn append_bytes(
    w: &DirWriter,
    fill: u8,
    len: usize,
) -> Result<(super::super::Appended, Vec<u8>), WalError> {
    let mut bytes = Vec::new();
    encode_put(
        &mut bytes,
        w.active_salt(),
        1,
        1,
        &Event::new(vec![fill; len]),
    );
    let salt = w.active_salt();
    let at = w.append(
        &mut Encoded {
            bytes: &mut bytes,
            salt,
        },
        None,
    )?;
    Ok((at, bytes))
}

/// Spins (with short sleeps) until `cond` holds or `OVERLAP_WAIT` passes; returns whether
/// it held.
fn wait_until(cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + OVERLAP_WAIT;
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// A hook under which syncs overlap: until one overlap has been seen, a sync that finds no
/// other one held waits (bounded) for another sync to start; every other sync yields a little.
/// (A roll's own syncs cannot be overlapped by a leader, hence the retries.)
fn overlapping_hook() -> (SyncHook, Arc<AtomicBool>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let holding = Arc::new(AtomicBool::new(false));
    let overlapped = Arc::new(AtomicBool::new(false));
    let (c, h, o) = (calls.clone(), holding.clone(), overlapped.clone());
    let hook: SyncHook = Arc::new(move || {
        let me = c.fetch_add(1, Ordering::SeqCst);
        let hold = !o.load(Ordering::SeqCst) && !h.swap(true, Ordering::SeqCst);
        if hold {
            let deadline = Instant::now() + Duration::from_millis(300);
            while c.load(Ordering::SeqCst) == me + 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(100));
            }
            if c.load(Ordering::SeqCst) > me + 1 {
                o.store(true, Ordering::SeqCst);
            }
            h.store(false, Ordering::SeqCst);
        } else {
            std::thread::sleep(Duration::from_micros(50 * (me as u64 % 4)));
        }
        Ok(())
    });
    (hook, overlapped)
}

#[test]
fn no_sync_to_returns_before_an_fdatasync_issued_after_its_bytes_completed() {
    for mode in [DirectIo::Off, DirectIo::Auto] {
        for leaders in [2, 3] {
            let fs = SimFs::new(7);
            // Small segments: the run rolls many times between and under leaders.
            let w = writer(&fs, mode, leaders, 24 << 10);
            let (hook, overlapped) = overlapping_hook();
            fs.on_sync(Some(hook));
            let threads = 8;
            let start = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (w, fs, start) = (w.clone(), fs.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for i in 0..40u32 {
                            let fill = (t as u8) ^ (i as u8) | 1;
                            let (at, bytes) =
                                append_bytes(&w, fill, 300 + (i as usize % 7)).unwrap();
                            w.sync_to(at.end).unwrap();
                            let path = Path::new("/d").join(segment_file_name(at.segment_id));
                            let durable = fs.durable_bytes(&path).unwrap();
                            let from = at.offset as usize;
                            assert!(
                                durable.get(from..from + bytes.len()) == Some(&bytes[..]),
                                "{mode:?}, {leaders} leaders: thread {t} commit {i} acknowledged \
                                 but not durable at segment {} offset {from}",
                                at.segment_id
                            );
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let stats = w.commit_stats();
            assert!(
                overlapped.load(Ordering::SeqCst) && stats.overlapped_leads > 0,
                "{mode:?}, {leaders} leaders: no two leaders overlapped ({stats:?})"
            );
            assert!(w.position().0 > 3, "{mode:?}: the run never rolled");
            assert!(stats.syncs > 0 && stats.syncs <= stats.leads, "{stats:?}");
        }
    }
}

/// Two leaders in flight: the first's fdatasync fails *after* the second's succeeded (as
/// when the second took the file's writeback-error report). Neither waiter may be told its
/// bytes are durable.
#[test]
fn a_failed_fdatasync_with_two_leaders_in_flight_fails_both_waiters() {
    for mode in [DirectIo::Off, DirectIo::Auto] {
        let fs = SimFs::new(3);
        let w = writer(&fs, mode, 2, 1 << 20);
        let calls = Arc::new(AtomicUsize::new(0));
        let second_done = Arc::new(AtomicBool::new(false));
        let (c, done) = (calls.clone(), second_done.clone());
        fs.on_sync(Some(Arc::new(move || {
            match c.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    // Fail only after the second leader's sync has returned success and had
                    // time to publish (it must not).
                    assert!(wait_until(|| done.load(Ordering::SeqCst)), "no second sync");
                    std::thread::sleep(Duration::from_millis(30));
                    Err(std::io::Error::from_raw_os_error(libc::EIO))
                }
                _ => {
                    done.store(true, Ordering::SeqCst);
                    Ok(())
                }
            }
        })));
        let first = {
            let w = w.clone();
            std::thread::spawn(move || {
                let at = append(&w, b'f', 12).unwrap();
                w.sync_to(at.end)
            })
        };
        assert!(wait_until(|| calls.load(Ordering::SeqCst) >= 1));
        // The first leader is in its fdatasync: this commit gets a leader of its own.
        let at = append(&w, b's', 13).unwrap();
        let second = w.sync_to(at.end);
        let first = first.join().unwrap();
        assert!(
            matches!(first, Err(WalError::Io { op: "fsync", .. })),
            "{mode:?}: {first:?}"
        );
        assert!(
            matches!(second, Err(WalError::Poisoned { op: "fsync", .. })),
            "{mode:?}: the second commit was acknowledged over a failed fdatasync: {second:?}"
        );
        assert!(w.commit_stats().overlapped_leads >= 1, "{mode:?}");
        // And nothing is acknowledged afterwards either.
        assert!(append(&w, b'l', 5).is_err());
    }
}

#[test]
fn one_leader_at_a_time_never_overlaps_and_still_covers_every_commit() {
    let fs = SimFs::new(5);
    let w = writer(&fs, DirectIo::Auto, 1, 1 << 20);
    let threads = 6;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let w = w.clone();
            std::thread::spawn(move || {
                for _ in 0..30 {
                    let at = append(&w, t as u8 + 1, 100).unwrap();
                    w.sync_to(at.end).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let stats = w.commit_stats();
    assert_eq!(stats.overlapped_leads, 0, "{stats:?}");
    assert!(stats.leads >= 1 && stats.leads <= 180, "{stats:?}");
    let end = w.active.lock().written;
    assert_eq!(w.sync.lock().synced, end);
}

/// A hook that makes every fdatasync take `ms` milliseconds (a slow disk).
fn slow_sync(ms: u64) -> SyncHook {
    Arc::new(move || {
        std::thread::sleep(Duration::from_millis(ms));
        Ok(())
    })
}

/// `threads` committers of `rounds` commits each on a disk whose fdatasync takes `ms`;
/// the writer's group-commit counters afterwards.
fn commit_loops(threads: usize, rounds: usize, ms: u64) -> super::GroupCommitStats {
    let fs = SimFs::new(9);
    let w = writer(&fs, DirectIo::Off, 1, 1 << 22);
    fs.on_sync(Some(slow_sync(ms)));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let w = w.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let at = append(&w, t as u8 + 1, 100).unwrap();
                    w.sync_to(at.end).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let end = w.active.lock().written;
    assert_eq!(w.sync.lock().synced, end, "every commit is durable");
    w.commit_stats()
}

#[test]
fn a_lone_committer_never_holds_its_target_back() {
    let stats = commit_loops(1, 40, 1);
    assert_eq!(stats.gathers, 0, "{stats:?}");
    assert_eq!(stats.syncs, 40, "one fdatasync per commit: {stats:?}");
}

/// Without gathering, the committer whose thread needs no wake-up (the old leader) leads at
/// once with a group of one while the others are still being woken: groups alternate 1 and
/// 7 (4 commits per fdatasync). The bound has room for a loaded machine: a gathering leader
/// waits up to half a 10 ms fdatasync for the other 7 threads to run again.
#[test]
fn a_leader_gathers_the_group_the_last_one_woke() {
    let (threads, rounds) = (8, 30);
    let stats = commit_loops(threads, rounds, 10);
    let per_sync = (threads * rounds) as f64 / stats.syncs as f64;
    assert!(
        per_sync >= 6.0,
        "{per_sync:.1} commits per fdatasync: {stats:?}"
    );
    assert!(stats.gathers > 0, "{stats:?}");
}
