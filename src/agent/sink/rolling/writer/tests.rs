//! Rolling by count, size, interval and idleness; maxOpenFiles eviction; and the helpers the
//! writer's other tests share. Durability and recovery in `writer_crash_tests.rs`, poison
//! events and header values in `writer_poison_tests.rs`.

#![allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::agent::sink::rolling::config::{FileType, Serializer, WriteFormat};
use crate::agent::sink::rolling::path::Zone;
use crate::agent::sink::rolling::store::local::LocalStore;
use sluice_core::io::{Fs, SimFs, StdFs};
use sluice_core::Event;

pub(in crate::agent::sink::rolling) fn cfg(path: &str) -> RollingConfig {
    RollingConfig {
        path: path.to_owned(),
        remote: None,
        s3: None,
        file_prefix: "FlumeData".into(),
        file_suffix: String::new(),
        in_use_prefix: String::new(),
        in_use_suffix: ".tmp".into(),
        roll_interval: None,
        roll_size: None,
        roll_count: None,
        idle_timeout: None,
        batch_size: 100,
        file_type: FileType::DataStream,
        codec: None,
        write_format: WriteFormat::Writable,
        max_open_files: 5000,
        max_buffer_bytes: 64 << 20,
        round: None,
        zone: Zone::parse("UTC").unwrap(),
        use_local_timestamp: false,
        close_tries: 0,
        retry_interval: Duration::from_secs(180),
        call_timeout: Duration::from_secs(30),
        serializer: Serializer::Text,
        serializer_class: None,
        append_newline: true,
        sync_interval_bytes: 2_048_000,
        fsync_per_batch: true,
        keep_event_id: false,
        keys: Default::default(),
        parquet: None,
    }
}

fn writer(c: RollingConfig, fs: Arc<dyn Fs>) -> RollingWriter {
    on_fs(c, fs, 1000)
}

/// A writer on the local file system `fs`, its file counter seeded with `start_ms`.
pub(super) fn on_fs(c: RollingConfig, fs: Arc<dyn Fs>, start_ms: u64) -> RollingWriter {
    let store = Arc::new(LocalStore::new(fs));
    RollingWriter::on_store(c, store, HostNames::default(), start_ms).unwrap()
}

pub(in crate::agent::sink::rolling) fn events(range: std::ops::Range<u32>) -> Vec<Event> {
    range
        .map(|i| Event::new(format!("line-{i:04}")).header("app", "a"))
        .collect()
}

/// Every line of every file below `dir` (one level of bucket directories).
pub(in crate::agent::sink::rolling) fn lines(fs: &dyn Fs, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut names = fs.list_dir(dir).unwrap_or_default();
    names.sort();
    for n in names {
        let p = dir.join(&n);
        match sluice_core::io::read_file(fs, &p) {
            Ok(b) => out.extend(String::from_utf8_lossy(&b).lines().map(str::to_owned)),
            Err(_) => out.extend(lines(fs, &p)),
        }
    }
    out
}

/// (name, contents) of every file under `dir`, sorted by name.
/// Writes events 0..3, then 3..12 with an I/O error injected `k` file operations on, again
/// until the batch goes through (as the runner rolls the take back and hands it again), and
/// clears the fault.
pub(super) fn write_through_a_fault(w: &mut RollingWriter, fs: &SimFs, k: u64, t: Instant) {
    w.write_batch(&events(0..3), t, 0).unwrap();
    fs.inject(sluice_core::io::Fault::Eio {
        at: fs.op_count() + k,
    });
    let batch = events(3..12);
    let mut tries = 0;
    while w.write_batch(&batch, t, 0).is_err() {
        tries += 1;
        assert!(tries < 5, "fault at +{k}: the batch keeps failing");
    }
    fs.clear_faults();
}

fn files(fs: &dyn Fs, dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in fs.list_dir(dir).unwrap_or_default() {
        let p = dir.join(&n);
        if let Ok(b) = sluice_core::io::read_file(fs, &p) {
            out.push((n, String::from_utf8_lossy(&b).into_owned()));
        }
    }
    out
}

#[test]
fn roll_count_closes_each_file_after_that_many_events() {
    let fs = SimFs::new(1);
    let mut c = cfg("/logs");
    c.roll_count = Some(10);
    let mut w = writer(c, Arc::new(fs.clone()));
    let t = Instant::now();
    w.write_batch(&events(0..15), t, 0).unwrap();
    w.write_batch(&events(15..25), t, 0).unwrap();
    let f = files(&fs, Path::new("/logs"));
    let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["FlumeData.1001", "FlumeData.1002", "FlumeData.1003.tmp"]
    );
    assert_eq!(f[0].1.lines().count(), 10);
    assert_eq!(f[1].1.lines().next(), Some("line-0010"));
    assert_eq!(f[2].1.lines().count(), 5);
    w.close_all(t).unwrap();
    assert_eq!(files(&fs, Path::new("/logs"))[2].0, "FlumeData.1003");
}

#[test]
fn roll_size_counts_body_bytes_like_flume() {
    let fs = SimFs::new(2);
    let mut c = cfg("/logs");
    c.roll_size = Some(20); // bodies are 9 bytes: a file closes after its third event
    let mut w = writer(c, Arc::new(fs.clone()));
    w.write_batch(&events(0..7), Instant::now(), 0).unwrap();
    let f = files(&fs, Path::new("/logs"));
    let counts: Vec<usize> = f.iter().map(|(_, b)| b.lines().count()).collect();
    assert_eq!(counts, [3, 3, 1]);
    assert!(f[2].0.ends_with(".tmp") && !f[1].0.ends_with(".tmp"));
}

#[test]
fn roll_interval_and_idle_timeout_close_files_on_tick() {
    let fs = SimFs::new(3);
    let mut c = cfg("/logs/%{app}");
    c.roll_interval = Some(Duration::from_secs(30));
    c.idle_timeout = Some(Duration::from_secs(5));
    let mut w = writer(c, Arc::new(fs.clone()));
    let t0 = Instant::now();
    w.write_batch(&events(0..2), t0, 0).unwrap();
    w.tick(t0 + Duration::from_secs(4)).unwrap();
    assert_eq!(w.open_files(), 1, "not idle for 5 s yet");
    w.write_batch(&events(2..3), t0 + Duration::from_secs(4), 0)
        .unwrap();
    w.tick(t0 + Duration::from_secs(8)).unwrap();
    assert_eq!(w.open_files(), 1, "written at 4 s, idle only 4 s");
    w.tick(t0 + Duration::from_secs(9)).unwrap();
    assert_eq!(w.open_files(), 0, "idle for 5 s");
    assert_eq!(
        files(&fs, Path::new("/logs/a")),
        [(
            "FlumeData.1001".into(),
            "line-0000\nline-0001\nline-0002\n".into()
        )]
    );
    // The interval counts from the open, however busy the file is.
    for s in 0..30 {
        w.write_batch(
            &events(s..s + 1),
            t0 + Duration::from_secs(100 + s as u64),
            0,
        )
        .unwrap();
    }
    assert_eq!(w.open_files(), 1);
    w.tick(t0 + Duration::from_secs(130)).unwrap();
    assert_eq!(w.open_files(), 0);
}

#[test]
fn max_open_files_closes_the_least_recently_used_bucket() {
    let fs = SimFs::new(4);
    let mut c = cfg("/logs/%{app}");
    c.max_open_files = 2;
    let mut w = writer(c, Arc::new(fs.clone()));
    let ev = |app: &str| Event::new(app.as_bytes().to_vec()).header("app", app);
    let t = Instant::now();
    w.write_batch(&[ev("a"), ev("b"), ev("a")], t, 0).unwrap();
    w.write_batch(&[ev("c")], t, 0).unwrap();
    assert_eq!(w.open_files(), 2);
    let names = |d: &str| {
        files(&fs, Path::new(d))
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("/logs/b"),
        ["FlumeData.1002"],
        "b was used least recently"
    );
    assert_eq!(names("/logs/a"), ["FlumeData.1001.tmp"]);
    assert_eq!(names("/logs/c"), ["FlumeData.1003.tmp"]);
}

#[test]
fn a_file_planted_under_the_largest_number_stops_the_writer_without_wrapping_its_numbers() {
    let fs = SimFs::new(5);
    fs.create_dir_all(Path::new("/logs")).unwrap();
    let planted = Path::new("/logs/FlumeData.18446744073709551615");
    fs.open(planted, sluice_core::io::OpenMode::CreateNew)
        .unwrap()
        .write_all_at(b"planted\n", 0)
        .unwrap();
    let mut w = writer(cfg("/logs"), Arc::new(fs.clone()));
    w.recover(None).unwrap();
    let e = w
        .write_batch(&events(0..3), Instant::now(), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no file number is left"), "{e}");
    assert_eq!(
        files(&fs, Path::new("/logs")),
        [("FlumeData.18446744073709551615".into(), "planted\n".into())]
    );
}

mod crash;

mod poison;
