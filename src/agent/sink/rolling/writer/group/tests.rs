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
    w.write_batch(&events(5..15), t, 0).unwrap();
    let (group, again) = w.take_pending_sync().unwrap();
    group.sync_through(again).unwrap();
    assert_eq!(durable_lines(&fs, Path::new("/out")), expected(0..15));
    w.close_all(t).unwrap();
    assert_eq!(lines(&fs, Path::new("/out")), expected(0..15));
}
