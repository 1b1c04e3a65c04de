//! Exactly-once output on the simulated file system: a crash after any number of delivered
//! but uncommitted batches, and a failure anywhere inside a batch, leave every committed line
//! once and no other.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::super::super::config::RollingConfig;
use super::super::super::resume::{decode, Resume};
use super::super::tests::{cfg, events, lines, on_fs, write_through_a_fault};
use super::RollingWriter;
use sluice_core::io::{Fs, SimFs};

fn started(c: RollingConfig, fs: &SimFs, resume: Option<&Resume>, start_ms: u64) -> RollingWriter {
    let mut w = on_fs(c, Arc::new(fs.clone()), start_ms);
    w.recover(resume).unwrap();
    w
}

fn expected(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("line-{i:04}")).collect()
}

#[test]
fn a_crash_after_uncommitted_batches_cuts_them_and_their_files_away() {
    // Committed: batches 0..k; delivered after them and never committed: up to 3 more
    // (the runner pipelines), across rolls (rollCount 7) and two buckets.
    for uncommitted in 0..4u32 {
        let fs = SimFs::new(u64::from(uncommitted));
        let mut c = cfg("/out/%{app}");
        c.roll_count = Some(7);
        let mut w = started(c.clone(), &fs, None, 1000);
        let t = Instant::now();
        let mut committed = None;
        for b in 0..5u32 {
            w.write_batch(&events(b * 5..b * 5 + 5), t, 0).unwrap();
            committed = w.cursor();
        }
        for b in 5..5 + uncommitted {
            w.write_batch(&events(b * 5..b * 5 + 5), t, 0).unwrap();
        }
        drop(w);
        let resume = decode(&committed.unwrap()).unwrap();
        // The restart's clock is behind the old run's file numbers: numbers still grow.
        let mut w = started(c, &fs, Some(&resume), 500);
        assert_eq!(
            lines(&fs, Path::new("/out")),
            expected(25),
            "{uncommitted} uncommitted"
        );
        // The channel gives the uncommitted batches again: each line once.
        w.write_batch(&events(25..40), t, 0).unwrap();
        w.close_all(t).unwrap();
        let mut got = lines(&fs, Path::new("/out"));
        got.sort();
        assert_eq!(got, expected(40));
    }
}

#[test]
fn a_failure_anywhere_in_a_batch_is_cut_back_and_the_retry_writes_it_once() {
    for k in 0..24u64 {
        let fs = SimFs::new(k);
        let mut c = cfg("/out/%{app}");
        c.roll_count = Some(4);
        let mut w = started(c, &fs, None, 1000);
        let t = Instant::now();
        write_through_a_fault(&mut w, &fs, k, t);
        w.close_all(t).unwrap();
        let mut got = lines(&fs, Path::new("/out"));
        got.sort();
        assert_eq!(got, expected(12), "fault at +{k}");
    }
}

#[test]
fn a_cursor_for_another_directory_or_an_overflow_cuts_nothing() {
    let fs = SimFs::new(3);
    let c = cfg("/out/a");
    let mut w = started(c.clone(), &fs, None, 1000);
    let t = Instant::now();
    w.write_batch(&events(0..4), t, 0).unwrap();
    drop(w);
    let mut other = cfg("/elsewhere/a");
    other.roll_count = None;
    let foreign = {
        let mut w = started(other, &fs, None, 1000);
        w.write_batch(&events(0..1), t, 0).unwrap();
        decode(&w.cursor().unwrap()).unwrap()
    };
    started(c.clone(), &fs, Some(&foreign), 2000);
    assert_eq!(lines(&fs, Path::new("/out/a")), expected(4));
    started(c, &fs, Some(&Resume::Overflow), 3000);
    assert_eq!(lines(&fs, Path::new("/out/a")), expected(4));
}

#[test]
fn a_crash_before_the_first_commit_is_cut_back_to_the_baseline() {
    // A first start: the runner commits the recovered writer's cursor before any take (the
    // baseline). Batches delivered after it and never committed, across rolls and a file
    // an earlier run left, are cut away at the next start; the earlier run's file stays.
    for delivered in 1..4u32 {
        let fs = SimFs::new(u64::from(delivered));
        fs.create_dir_all(Path::new("/out/a")).unwrap();
        let old = Path::new("/out/a/FlumeData.900");
        sluice_core::io::write_file_atomic(&fs, old, b"line-0000\n").unwrap();
        let mut c = cfg("/out/%{app}");
        c.roll_count = Some(7);
        let mut w = started(c.clone(), &fs, None, 1000);
        let baseline = w.cursor().expect("a local store keeps a cursor");
        let t = Instant::now();
        for b in 0..delivered {
            w.write_batch(&events(1 + b * 5..6 + b * 5), t, 0).unwrap();
        }
        drop(w);
        let resume = decode(&baseline).unwrap();
        let mut w = started(c, &fs, Some(&resume), 500);
        assert_eq!(
            lines(&fs, Path::new("/out")),
            expected(1),
            "{delivered} delivered"
        );
        // The channel gives every batch again: each line once.
        w.write_batch(&events(1..16), t, 0).unwrap();
        w.close_all(t).unwrap();
        let mut got = lines(&fs, Path::new("/out"));
        got.sort();
        assert_eq!(got, expected(16));
    }
}
