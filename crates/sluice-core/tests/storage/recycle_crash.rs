//! Power cuts during segment recycling: at every operation of a checkpoint that retires
//! segments into spares, of the roll that takes a spare, and of the last commits into a
//! recycled file. After each, several crash images are opened: every acknowledged event comes
//! back, and no record of a file's earlier use is ever read as live. Every sweep runs with
//! direct I/O and through the page cache (both recycle).

use std::path::Path;
use std::sync::Arc;

use crate::recycle_support::*;
use sluice_core::io::{Fault, SimFs};
use sluice_core::{DirectIo, Event, FileChannel};

#[test]
fn a_power_cut_at_any_operation_of_the_last_commits_into_a_recycled_file_loses_nothing_committed() {
    for direct in [DirectIo::Auto, DirectIo::Off] {
        a_power_cut_at_any_operation_of_the_last_commits_into_a_recycled_file_loses_nothing_committed_in(direct);
    }
}

fn a_power_cut_at_any_operation_of_the_last_commits_into_a_recycled_file_loses_nothing_committed_in(
    direct: DirectIo,
) {
    let probe = SimFs::new(1);
    let cfg = config(Path::new("/sim"), direct, 2);
    let (ch, _) = scenario(Arc::new(probe.clone()), &cfg, 70);
    assert!(ch.stats().segments_recycled >= 1);
    let from = probe.op_count();
    for i in 70..75 {
        assert!(put_one(&ch, &body("new", i)));
    }
    let to = probe.op_count();
    drop(ch);
    let mut images = 0;
    for k in from..to {
        let sim = SimFs::new(1);
        sim.inject(Fault::Crash { at: k });
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, 75);
        assert!(acked.len() < 75, "op {k} never crashed the run");
        drop(ch);
        for seed in 0..6 {
            let img = sim.crash_image(seed);
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            check_recovered(
                &drain(&back),
                &acked,
                75,
                &format!("{direct:?}: op {k}, seed {seed}"),
            );
            images += 1;
        }
    }
    assert!(images >= 6, "the sweep visited {images} crash images");
}

#[test]
fn a_power_cut_at_any_step_of_taking_a_spare_keeps_every_committed_event_and_no_stale_one() {
    for direct in [DirectIo::Auto, DirectIo::Off] {
        a_power_cut_at_any_step_of_taking_a_spare_keeps_every_committed_event_and_no_stale_one_in(
            direct,
        );
    }
}

fn a_power_cut_at_any_step_of_taking_a_spare_keeps_every_committed_event_and_no_stale_one_in(
    direct: DirectIo,
) {
    // Find the commit whose roll took the spare, then cut the power at each of its operations
    // (seal, header block, fdatasync, rename, directory fsync, head record, the write).
    let probe = SimFs::new(1);
    let cfg = config(Path::new("/sim"), direct, 2);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(probe.clone())).unwrap();
    used_and_retired(&ch, 300);
    let mut window = None;
    for i in 0..200 {
        let before = probe.op_count();
        assert!(put_one(&ch, &body("new", i)));
        if ch.stats().segments_recycled > 0 {
            window = Some((i, before, probe.op_count()));
            break;
        }
    }
    let (at_commit, from, to) = window.expect("no commit took a spare");
    assert!(
        to - from >= 6,
        "a roll into a spare of {} operations",
        to - from
    );
    drop(ch);
    for k in from..to {
        let sim = SimFs::new(1);
        sim.inject(Fault::Crash { at: k });
        let (ch, acked) = scenario(Arc::new(sim.clone()), &cfg, at_commit + 1);
        // The rolling commit's leader refreshes the acknowledged-end record after it has
        // acknowledged the commit (the roll sealed a segment): a cut there leaves the commit
        // acknowledged.
        assert!(
            acked.len() == at_commit || acked.len() == at_commit + 1,
            "op {k} is not in the rolling commit ({} acknowledged)",
            acked.len()
        );
        drop(ch);
        for seed in 0..6 {
            let img = sim.crash_image(seed);
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img.clone())).unwrap();
            let at = format!("{direct:?}: op {k}, seed {seed}");
            check_recovered(&drain(&back), &acked, at_commit + 1, &at);
            // The channel goes on writing after the crash, recycling the spare if it is left.
            assert!(put_one(&back, &body("new", 999)), "{at}");
            drop(back);
            let again = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            assert_eq!(drain(&again), ["new-00999"], "{at}");
        }
    }
}

#[test]
fn a_power_cut_at_any_operation_of_a_checkpoint_that_retires_segments_into_spares_is_safe() {
    for direct in [DirectIo::Auto, DirectIo::Off] {
        a_power_cut_at_any_operation_of_a_checkpoint_that_retires_segments_into_spares_is_safe_in(
            direct,
        );
    }
}

fn a_power_cut_at_any_operation_of_a_checkpoint_that_retires_segments_into_spares_is_safe_in(
    direct: DirectIo,
) {
    let cfg = config(Path::new("/sim"), direct, 2);
    // The workload up to the retiring checkpoint, and that checkpoint's operations.
    let fill = |ch: &FileChannel| {
        for chunk in 0..30 {
            let mut tx = ch.transaction();
            for i in 0..10 {
                tx.put(Event::new(body("old", chunk * 10 + i).into_bytes()))
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        assert_eq!(drain(ch).len(), 300);
    };
    let probe = SimFs::new(1);
    let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(probe.clone())).unwrap();
    fill(&ch);
    let from = probe.op_count();
    ch.checkpoint().unwrap();
    let to = probe.op_count();
    assert_eq!(spares(&probe, &cfg.data_dirs[0]), 2);
    drop(ch);
    for k in from..to {
        let sim = SimFs::new(1);
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        fill(&ch);
        sim.inject(Fault::Crash { at: k });
        let _ = ch.checkpoint();
        drop(ch);
        for seed in 0..3 {
            let img = sim.crash_image(seed);
            let at = format!("{direct:?}: op {k}, seed {seed}");
            let back = FileChannel::open_with_fs(cfg.clone(), Arc::new(img.clone())).unwrap();
            assert_eq!(
                drain(&back),
                Vec::<String>::new(),
                "{at}: a taken event came back"
            );
            // Writing on recycles whatever spares the crash left; all of it reads back.
            let mut acked = Vec::new();
            for i in 0..80 {
                let b = body("new", i);
                assert!(put_one(&back, &b), "{at}");
                acked.push(name(&b));
            }
            drop(back);
            let again = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
            assert_eq!(drain(&again), acked, "{at}");
        }
    }
}
