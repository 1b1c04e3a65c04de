//! Group commit (one gathering leader, or overlapping ones) across a power loss: a
//! crash image taken while 8 committers run keeps every commit acknowledged before it, with
//! buffered and direct writes and segments rolling under the leaders.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{config_under, drain, ev};
use parking_lot::Mutex;
use sluice_core::io::SimFs;
use sluice_core::{DirectIo, FileChannel};

const COMMITTERS: usize = 8;
const COMMITS_EACH: usize = 40;

/// Waits (bounded) until `acked` holds at least `n` entries; returns a copy of them.
fn acked_at_least(acked: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = acked.lock().clone();
        if now.len() >= n || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_power_loss_while_leaders_overlap_keeps_every_acknowledged_commit() {
    for (mode, leaders) in [
        (DirectIo::Off, 1),
        (DirectIo::Auto, 1),
        (DirectIo::Off, 2),
        (DirectIo::Auto, 2),
        (DirectIo::Auto, 3),
    ] {
        let sim = SimFs::new(11);
        // Every fdatasync takes a little while, so leaders overlap.
        sim.on_sync(Some(Arc::new(|| {
            std::thread::sleep(Duration::from_micros(200));
            Ok(())
        })));
        let mut config = config_under(std::path::Path::new("/sim"), 1);
        config.direct_io = mode;
        config.group_commit_leaders = leaders;
        config.max_file_size_bytes = 48 << 10;
        let ch = FileChannel::open_with_fs(config.clone(), Arc::new(sim.clone())).unwrap();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..COMMITTERS)
            .map(|t| {
                let (ch, acked) = (ch.clone(), acked.clone());
                std::thread::spawn(move || {
                    for i in 0..COMMITS_EACH {
                        let body = format!("t{t}-{i:03}-{}", "x".repeat(200));
                        let mut tx = ch.transaction();
                        tx.put(ev(&body)).unwrap();
                        tx.commit().unwrap();
                        acked.lock().push(body);
                    }
                })
            })
            .collect();
        // Three power cuts at different moments of the run, each image checked on its own.
        let mut images = Vec::new();
        for (k, n) in [40, 140, 260].into_iter().enumerate() {
            let before = acked_at_least(&acked, n);
            images.push((before, sim.crash_image(100 + k as u64)));
        }
        for h in handles {
            h.join().unwrap();
        }
        let stats = ch.stats();
        assert!(
            leaders == 1 || stats.group_commit.overlapped_leads > 0,
            "{mode:?}: no two leaders overlapped: {:?}",
            stats.group_commit
        );
        // Small groups on a direct segment zero ahead of their writes (the crash images then
        // hold zeroed blocks past the logical end, which must read as the end).
        assert!(
            mode == DirectIo::Off || stats.group_commit.zero_aheads > 0,
            "{mode:?}: nothing zeroed ahead: {:?}",
            stats.group_commit
        );
        drop(ch);
        for (before, image) in images {
            assert!(!before.is_empty());
            let back = FileChannel::open_with_fs(config.clone(), Arc::new(image)).unwrap();
            let got = drain(&back);
            let lost: Vec<_> = before.iter().filter(|b| !got.contains(b)).collect();
            assert!(
                lost.is_empty(),
                "{mode:?}, {leaders} leaders: {} of {} acknowledged commits lost, e.g. {:.20}",
                lost.len(),
                before.len(),
                lost[0]
            );
        }
    }
}
