//! Shared syncs on the simulated file system: batches written without a sync are made
//! durable by one sync of their files, and after a failed sync the output is cut back to the
//! last synced batch, so the batches given again are each kept once.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::super::tests::{cfg, events, on_fs};
use super::RollingWriter;
use sluice_core::io::{Fs, SimFs};

fn started(fs: &SimFs) -> RollingWriter {
    let mut w = on_fs(cfg("/out"), Arc::new(fs.clone()), 1000);
    w.recover(None).unwrap();
    assert!(w.share_syncs());
    w
}

/// The lines of the files in `dir` that would survive a power loss now.
fn durable_lines(fs: &SimFs, dir: &Path) -> Vec<String> {
    lines_by(fs, dir, |p| fs.durable_bytes(p).unwrap())
}

fn lines(fs: &SimFs, dir: &Path) -> Vec<String> {
    lines_by(fs, dir, |p| sluice_core::io::read_file(fs, p).unwrap())
}

/// The lines of the files in `dir`, in name order, each file's bytes as `read` gives them.
fn lines_by(fs: &SimFs, dir: &Path, read: impl Fn(&Path) -> Vec<u8>) -> Vec<String> {
    let mut names = fs.list_dir(dir).unwrap_or_default();
    names.sort();
    names
        .iter()
        .flat_map(|n| {
            String::from_utf8_lossy(&read(&dir.join(n)))
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn expected(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("line-{i:04}")).collect()
}

/// Writes events 5..15 again (the batches the runner rolled back) and checks that lines 0..15
/// are each durable once, before and after the close.
fn rewrite_and_check(w: &mut RollingWriter, fs: &SimFs, t: Instant) {
    w.write_batch(&events(5..15), t, 0).unwrap();
    let (group, again) = w.take_pending_sync().unwrap();
    group.sync_through(again).unwrap();
    assert_eq!(durable_lines(fs, Path::new("/out")), expected(0..15));
    w.close_all(t).unwrap();
    assert_eq!(lines(fs, Path::new("/out")), expected(0..15));
}

/// Counts the fdatasyncs, and fails them while `fail` is set.
fn hook(fs: &SimFs) -> (Arc<AtomicU64>, Arc<AtomicBool>) {
    let (count, fail) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (c, f) = (count.clone(), fail.clone());
    fs.on_sync(Some(Arc::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        if f.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fdatasync failure"));
        }
        Ok(())
    })));
    (count, fail)
}

#[test]
fn one_sync_makes_every_batch_written_before_it_durable() {
    let fs = SimFs::new(7);
    let mut w = started(&fs);
    let (syncs, _) = hook(&fs);
    let t = Instant::now();
    let mut pending = Vec::new();
    for b in 0..3u32 {
        w.write_batch(&events(b * 5..b * 5 + 5), t, 0).unwrap();
        pending.push(w.take_pending_sync().unwrap());
    }
    assert_eq!(
        syncs.load(Ordering::SeqCst),
        0,
        "no batch synced by its write"
    );
    assert!(durable_lines(&fs, Path::new("/out")).is_empty());
    let gens: Vec<u64> = pending.iter().map(|p| p.1).collect();
    assert_eq!(gens, [1, 2, 3]);
    // The first batch's acknowledgement syncs the file once, covering all three.
    pending[0].0.sync_through(1).unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 1);
    assert_eq!(durable_lines(&fs, Path::new("/out")), expected(0..15));
    pending[2].0.sync_through(3).unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 1, "already covered");
}

#[test]
fn after_a_failed_sync_the_output_is_cut_back_to_the_last_synced_batch() {
    let fs = SimFs::new(8);
    let mut w = started(&fs);
    let (_, fail) = hook(&fs);
    let t = Instant::now();
    w.write_batch(&events(0..5), t, 0).unwrap();
    let (group, first) = w.take_pending_sync().unwrap();
    group.sync_through(first).unwrap();
    w.write_batch(&events(5..10), t, 0).unwrap();
    let (_, second) = w.take_pending_sync().unwrap();
    w.write_batch(&events(10..15), t, 0).unwrap();
    let (_, third) = w.take_pending_sync().unwrap();
    fail.store(true, Ordering::SeqCst);
    assert!(group.sync_through(second).is_err());
    fail.store(false, Ordering::SeqCst);
    assert!(
        group.sync_through(third).is_err(),
        "a later batch fails too"
    );
    // A batch handed over after the failure but before the cut back (written while the
    // sync failed) is not called durable either, though its fdatasync would succeed now.
    let late = group.batch(Vec::new());
    assert!(group.sync_through(late).is_err());
    assert_eq!(group.synced(), first);
    // The runner rolled both back; the channel gives them again. The writer cuts the
    // output back to the first batch before it writes them.
    rewrite_and_check(&mut w, &fs, t);
}

#[test]
fn a_staged_batch_is_written_by_the_sync_that_makes_it_durable() {
    let fs = SimFs::new(9);
    let mut w = started(&fs);
    let (syncs, _) = hook(&fs);
    let t = Instant::now();
    // The first batch opens the file: that needs the blocking way.
    assert!(w.stage_batch(&events(0..5), t, 0).is_none());
    w.write_batch(&events(0..5), t, 0).unwrap();
    let (group, first) = w.take_pending_sync().unwrap();
    group.sync_through(first).unwrap();
    let ops = fs.op_count();
    let mut gens = Vec::new();
    for b in 1..4u32 {
        let refused = w
            .stage_batch(&events(b * 5..b * 5 + 5), t, 0)
            .unwrap()
            .unwrap();
        assert!(refused.is_empty());
        gens.push(w.take_pending_sync().unwrap().1);
    }
    assert_eq!(fs.op_count(), ops, "staging does no file operation");
    assert_eq!(lines(&fs, Path::new("/out")), expected(0..5));
    // The second staged batch's acknowledgement writes all three and syncs once.
    group.sync_through(gens[1]).unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 2);
    assert_eq!(durable_lines(&fs, Path::new("/out")), expected(0..20));
    group.sync_through(gens[2]).unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 2, "already covered");
    // A trip (here the close) writes what is staged first.
    w.stage_batch(&events(20..25), t, 0).unwrap().unwrap();
    w.write_staged();
    w.close_all(t).unwrap();
    assert_eq!(lines(&fs, Path::new("/out")), expected(0..25));
}

#[test]
fn a_batch_that_would_open_or_roll_a_file_is_not_staged() {
    let fs = SimFs::new(10);
    let mut c = cfg("/out");
    c.roll_count = Some(12);
    let mut w = on_fs(c, Arc::new(fs.clone()), 1000);
    w.recover(None).unwrap();
    assert!(w.share_syncs());
    let t = Instant::now();
    w.write_batch(&events(0..5), t, 0).unwrap();
    assert!(w.stage_batch(&events(5..10), t, 0).is_some());
    // 10 events in the file: 2 more reach rollCount, so the batch closes the file.
    assert!(w.stage_batch(&events(10..12), t, 0).is_none());
    // An event bound for another directory opens a file.
    let other = vec![sluice_core::Event::new("x").header("app", "b")];
    let mut c = cfg("/out/%{app}");
    c.roll_count = None;
    let mut w = on_fs(c, Arc::new(fs.clone()), 2000);
    w.recover(None).unwrap();
    assert!(w.share_syncs());
    w.write_batch(&events(0..5), t, 0).unwrap();
    assert!(w.stage_batch(&events(5..6), t, 0).is_some());
    assert!(w.stage_batch(&other, t, 0).is_none());
}

#[test]
fn a_failed_write_of_staged_batches_fails_them_and_the_output_is_cut_back() {
    let fs = SimFs::new(11);
    let mut w = started(&fs);
    let t = Instant::now();
    w.write_batch(&events(0..5), t, 0).unwrap();
    let (group, first) = w.take_pending_sync().unwrap();
    group.sync_through(first).unwrap();
    w.stage_batch(&events(5..10), t, 0).unwrap().unwrap();
    let (_, second) = w.take_pending_sync().unwrap();
    w.stage_batch(&events(10..15), t, 0).unwrap().unwrap();
    let (_, third) = w.take_pending_sync().unwrap();
    // The staged write is the sync's first file operation.
    fs.inject(sluice_core::io::Fault::Eio { at: fs.op_count() });
    assert!(group.sync_through(second).is_err());
    fs.clear_faults();
    assert!(
        group.sync_through(third).is_err(),
        "a later batch fails too"
    );
    assert!(
        w.stage_batch(&events(5..15), t, 0).is_none(),
        "nothing is staged before the cut back"
    );
    // The runner rolled both back; the channel gives them again.
    w.write_staged();
    rewrite_and_check(&mut w, &fs, t);
}

#[test]
fn a_power_loss_at_every_step_of_a_staged_groups_sync_keeps_each_committed_batch_once() {
    use crate::agent::sink::rolling::resume;
    use sluice_core::io::Fault;
    let mut step = 0;
    loop {
        let fs = SimFs::new(step);
        let mut w = started(&fs);
        let t = Instant::now();
        w.write_batch(&events(0..5), t, 0).unwrap();
        let (group, first) = w.take_pending_sync().unwrap();
        group.sync_through(first).unwrap();
        let committed_first = w.cursor().unwrap();
        w.stage_batch(&events(5..10), t, 0).unwrap().unwrap();
        w.stage_batch(&events(10..15), t, 0).unwrap().unwrap();
        let (_, last) = w.take_pending_sync().unwrap();
        let committed_last = w.cursor().unwrap();
        fs.inject(Fault::Crash {
            at: fs.op_count() + step,
        });
        // The runner commits the takes (and their cursor) only if the sync returns.
        let acked = group.sync_through(last).is_ok();
        let crashed = fs.has_crashed();
        assert_eq!(acked, !crashed, "step {step}");
        let (committed, kept) = if acked {
            (committed_last, 0..15)
        } else {
            (committed_first, 0..5)
        };
        for seed in 0..4 {
            let image = fs.crash_image(seed);
            let mut again = on_fs(cfg("/out"), Arc::new(image.clone()), 1000);
            again.recover(resume::decode(&committed).as_ref()).unwrap();
            assert_eq!(
                lines(&image, Path::new("/out")),
                expected(kept.clone()),
                "step {step} seed {seed}"
            );
        }
        if !crashed {
            break;
        }
        step += 1;
        assert!(step < 20, "a staged sync is a write and an fdatasync");
    }
    assert!(step >= 2, "the sync's steps were crashed at: {step}");
}
