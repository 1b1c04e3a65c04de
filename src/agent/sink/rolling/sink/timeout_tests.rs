//! A call that outlives `hdfs.callTimeout`: its take is rolled back and its batch comes again,
//! so what the call wrote once it finished is cut away before the writer writes again, and
//! every line is in the output once (on the simulated file system, a sync held past the
//! deadline); and a call whose thread panics, whose writer is gone with it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::super::writer::tests::{cfg, events, lines};
use super::RollingSink;
use crate::agent::sink::SinkErrorKind;
use sluice_core::io::{Fs, SimFs};

/// A file system whose syncs take `HELD` while `slow` is set.
fn slow_syncs() -> (SimFs, Arc<AtomicBool>) {
    let fs = SimFs::new(7);
    let slow = Arc::new(AtomicBool::new(false));
    let flag = slow.clone();
    fs.on_sync(Some(Arc::new(move || {
        if flag.load(Ordering::SeqCst) {
            std::thread::sleep(HELD);
        }
        Ok(())
    })));
    (fs, slow)
}

/// Asserts that the lines below `/out` are `line-0000` up to `line-{n-1}`, each once.
fn assert_lines_once(fs: &SimFs, n: u32, case: &str) {
    let mut got = lines(fs as &dyn Fs, Path::new("/out"));
    got.sort();
    let want: Vec<String> = (0..n).map(|i| format!("line-{i:04}")).collect();
    assert_eq!(got, want, "{case}: every line once");
}

const DEADLINE: Duration = Duration::from_millis(200);
const HELD: Duration = Duration::from_millis(800);

#[tokio::test]
async fn a_batch_whose_call_timed_out_is_cut_away_and_written_once_when_it_comes_again() {
    // One bucket or two, rolled every 5 events: the timed-out call closes a file (its sync is
    // held) and opens another.
    for path in ["/out", "/out/%{app}"] {
        let (fs, slow) = slow_syncs();
        let mut c = cfg(path);
        c.roll_count = Some(5);
        c.call_timeout = DEADLINE;
        let mut sink = RollingSink::with_fs("k1", c, Arc::new(fs.clone()));
        sink.start().await.unwrap();
        sink.deliver(events(0..5)).await.unwrap();
        slow.store(true, Ordering::SeqCst);
        let e = sink.deliver(events(5..10)).await.unwrap_err();
        assert_eq!(e.kind(), SinkErrorKind::Timeout, "{path}: {e}");
        slow.store(false, Ordering::SeqCst);
        // The runner rolled the take back; the same batch comes again once the call is done.
        tokio::time::sleep(HELD + DEADLINE).await;
        sink.deliver(events(5..10)).await.unwrap();
        sink.deliver(events(10..17)).await.unwrap();
        sink.close().await;
        assert_lines_once(&fs, 17, path);
    }
}

#[tokio::test]
async fn a_stop_after_a_call_timed_out_publishes_only_what_was_delivered_before_it() {
    let (fs, slow) = slow_syncs();
    let mut c = cfg("/out");
    c.roll_count = Some(5);
    c.call_timeout = DEADLINE;
    let mut sink = RollingSink::with_fs("k1", c, Arc::new(fs.clone()));
    sink.deliver(events(0..7)).await.unwrap();
    slow.store(true, Ordering::SeqCst);
    assert!(sink.deliver(events(7..12)).await.is_err());
    slow.store(false, Ordering::SeqCst);
    tokio::time::sleep(HELD + DEADLINE).await;
    sink.close().await;
    assert_lines_once(&fs, 7, "a stop");
    let names = fs.list_dir(Path::new("/out")).unwrap();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "every file closed: {names:?}"
    );
}

#[tokio::test]
async fn a_job_whose_thread_panics_takes_its_writer_and_the_next_one_cuts_back_what_it_wrote() {
    let fs = SimFs::new(9);
    let mut c = cfg("/out");
    c.roll_count = Some(5);
    let mut sink = RollingSink::with_fs("k1", c, Arc::new(fs.clone()));
    sink.deliver(events(0..7)).await.unwrap();
    // A bug: the job writes the batch, then its thread panics, and the writer is gone.
    let e = sink
        .run::<(), _>(|w| {
            w.write_batch(&events(7..12), std::time::Instant::now(), 0)?;
            panic!("a bug in the job, after its batch was written");
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SinkErrorKind::Store, "{e}");
    // The runner rolled the take back; the batch comes again, to a new writer.
    sink.deliver(events(7..12)).await.unwrap();
    sink.deliver(events(12..15)).await.unwrap();
    sink.close().await;
    assert_lines_once(&fs, 15, "a lost writer");
}

#[tokio::test]
async fn a_timed_out_call_cuts_back_only_its_own_files_not_another_writers_in_the_directory() {
    // Two sinks write one directory with one prefix (two collectors of a Flume tier): k2,
    // started later, numbers its files above k1's.
    let (fs, slow) = slow_syncs();
    let mut c = cfg("/out");
    c.roll_count = Some(5);
    c.call_timeout = DEADLINE;
    let mut k1 = RollingSink::with_fs("k1", c.clone(), Arc::new(fs.clone()));
    k1.deliver(events(0..5)).await.unwrap();
    let mut k2 = RollingSink::with_fs("k2", c, Arc::new(fs.clone()));
    tokio::time::sleep(Duration::from_millis(5)).await;
    k2.deliver(events(100..110)).await.unwrap();
    k2.close().await;
    // k1's call times out; its batch comes again.
    slow.store(true, Ordering::SeqCst);
    assert!(k1.deliver(events(5..10)).await.is_err());
    slow.store(false, Ordering::SeqCst);
    tokio::time::sleep(HELD + DEADLINE).await;
    k1.deliver(events(5..10)).await.unwrap();
    k1.close().await;
    let mut got = lines(&fs as &dyn Fs, Path::new("/out"));
    got.sort();
    let want: Vec<String> = (0..10)
        .chain(100..110)
        .map(|i| format!("line-{i:04}"))
        .collect();
    assert_eq!(got, want, "k2's committed files are kept, k1's lines once");
}
