//! Rolling by count, size, interval and idleness; maxOpenFiles eviction; durability of a
//! written batch across a simulated power loss; recovery of in-use files.

#![allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::agent::sink::hdfs::config::{FileType, Serializer, WriteFormat};
use crate::agent::sink::hdfs::path::Zone;
use sluice_core::io::{SimFs, StdFs};

pub(super) fn cfg(path: &str) -> HdfsConfig {
    HdfsConfig {
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
        java_serializer: None,
        append_newline: true,
        sync_interval_bytes: 2_048_000,
        fsync_per_batch: true,
        keys: Default::default(),
    }
}

fn writer(c: HdfsConfig, fs: Arc<dyn Fs>) -> HdfsWriter {
    HdfsWriter::new(c, fs, HostNames::default(), 1000).unwrap()
}

pub(super) fn events(range: std::ops::Range<u32>) -> Vec<Event> {
    range
        .map(|i| Event::new(format!("line-{i:04}")).header("app", "a"))
        .collect()
}

/// (name, contents) of every file under `dir`, sorted by name.
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
fn a_written_batch_survives_power_loss_and_recovery_renames_its_file() {
    for seed in 0..20u64 {
        let fs = SimFs::new(seed);
        let mut c = cfg("/data/%Y/%{app}");
        c.use_local_timestamp = true;
        c.roll_count = Some(7);
        let mut w = writer(c.clone(), Arc::new(fs.clone()));
        let t = Instant::now();
        for b in 0..5u32 {
            w.write_batch(&events(b * 4..b * 4 + 4), t, 1_600_000_000_000)
                .unwrap();
        }
        // The next batch is written without fsync and the power goes out.
        w.cfg.fsync_per_batch = false;
        w.write_batch(&events(20..23), t, 1_600_000_000_000)
            .unwrap();
        let image = fs.crash_image(seed);
        let mut w2 = writer(c, Arc::new(image.clone()));
        let rec = w2.recover(None).unwrap();
        assert!(rec.iter().all(|r| r.to.is_some() || r.kept == 0), "{rec:?}");
        let dir = Path::new("/data/2020/a");
        let all = files(&image, dir);
        assert!(
            all.iter().all(|(n, _)| !n.ends_with(".tmp")),
            "seed {seed}: {all:?}"
        );
        let lines: Vec<String> = all
            .iter()
            .flat_map(|(_, b)| b.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for i in 0..20 {
            assert!(
                lines.contains(&format!("line-{i:04}")),
                "seed {seed}: line {i} lost: {lines:?}"
            );
        }
        assert!(
            all.iter().all(|(_, b)| b.is_empty() || b.ends_with('\n')),
            "a torn line was kept: {all:?}"
        );
    }
}

#[test]
fn recovery_on_a_real_disk_cuts_a_torn_gzip_member_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let mut c = cfg(root.to_str().unwrap());
    c.file_type = FileType::CompressedStream;
    c.codec = Some(crate::agent::sink::hdfs::codec::Codec::Gzip);
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    let mut w = writer(c.clone(), fs.clone());
    w.write_batch(&events(0..3), Instant::now(), 0).unwrap();
    let in_use = root.join("FlumeData.1001.gz.tmp");
    let mut bytes = std::fs::read(&in_use).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0]);
    std::fs::write(&in_use, &bytes).unwrap();
    drop(w);
    let rec = writer(c, fs).recover(None).unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!((rec[0].kept, rec[0].cut), (good as u64, 6));
    let out = std::fs::read(root.join("FlumeData.1001.gz")).unwrap();
    let text = crate::agent::sink::hdfs::codec::Codec::Gzip.decode_all(&out);
    assert_eq!(text, b"line-0000\nline-0001\nline-0002\n");
    assert!(!in_use.exists());
}

#[test]
fn an_event_without_a_timestamp_is_refused_with_the_fix_named() {
    // Issue 25: it is a poison event now (it used to fail its batch forever).
    let fs = SimFs::new(5);
    let mut w = writer(cfg("/logs/%Y"), Arc::new(fs));
    let refused = w.write_batch(&events(0..1), Instant::now(), 0).unwrap();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].reason.contains("useLocalTimeStamp"),
        "{refused:?}"
    );
}

#[test]
fn a_failed_write_or_sync_anywhere_loses_nothing_and_leaves_no_in_use_file() {
    use sluice_core::io::Fault;
    for k in 0..14u64 {
        let fs = SimFs::new(k);
        let mut c = cfg("/logs/%{app}");
        c.roll_count = Some(5);
        let mut w = writer(c, Arc::new(fs.clone()));
        let t = Instant::now();
        w.write_batch(&events(0..3), t, 0).unwrap();
        fs.inject(Fault::Eio {
            at: fs.op_count() + k,
        });
        let batch = events(3..9);
        if w.write_batch(&batch, t, 0).is_err() {
            // The runner rolls the take back and the batch comes again.
            w.write_batch(&batch, t, 0).unwrap();
        }
        // The fault may land in the close instead: the file then goes through recovery.
        let _ = w.close_all(t);
        w.tick(t + Duration::from_secs(1000)).unwrap();
        fs.clear_faults(); // a fault not reached yet must not hit the inspection below
        let all = files(&fs, Path::new("/logs/a"));
        assert!(
            all.iter().all(|(n, _)| !n.ends_with(".tmp")),
            "fault at +{k}: {all:?}"
        );
        let lines: Vec<String> = all
            .iter()
            .flat_map(|(_, b)| b.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for i in 0..9 {
            assert!(
                lines.contains(&format!("line-{i:04}")),
                "fault at +{k}: line {i} lost: {all:?}"
            );
        }
        assert!(
            all.iter().all(|(_, b)| b.ends_with('\n')),
            "fault at +{k}: torn line kept: {all:?}"
        );
    }
}

/// Every file under `root` (recursively), relative to it.
fn all_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_poison_event_is_left_out_and_the_rest_of_its_batch_written_once() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    let mut w = writer(
        cfg(&format!("{}/%{{app}}", root.display())),
        Arc::new(StdFs),
    );
    let mut batch = events(0..5);
    batch[2] = Event::new("poison").header("app", "x".repeat(300));
    let refused = w.write_batch(&batch, Instant::now(), 0).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].index, 2);
    assert!(
        refused[0].reason.contains("%{app}"),
        "{}",
        refused[0].reason
    );
    assert!(
        refused[0].reason.contains("300 bytes"),
        "{}",
        refused[0].reason
    );
    w.close_all(Instant::now()).unwrap();
    let text: String = files(&StdFs, &root.join("a"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(text, "line-0000\nline-0001\nline-0003\nline-0004\n");
}

#[test]
fn an_event_without_a_timestamp_for_a_time_path_is_poison_not_a_batch_failure() {
    let d = tempfile::tempdir().unwrap();
    let mut w = writer(cfg(&format!("{}/%Y", d.path().display())), Arc::new(StdFs));
    let good = |b: &str| Event::new(b.as_bytes().to_vec()).header("timestamp", "0");
    let batch = vec![good("1"), Event::new("no ts"), good("2")];
    let refused = w.write_batch(&batch, Instant::now(), 0).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].index, 1);
    assert!(
        refused[0].reason.contains("timestamp"),
        "{}",
        refused[0].reason
    );
    w.close_all(Instant::now()).unwrap();
    assert_eq!(all_files(d.path()).len(), 1);
}

#[test]
fn header_values_never_leave_the_configured_path() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("a/b/logs");
    let mut c = cfg(&format!("{}/%{{app}}/x", root.display()));
    c.file_prefix = "%{pre}".into();
    let mut w = writer(c, Arc::new(StdFs));
    let nasty = [
        "../../x",
        "a/../../b",
        "..",
        ".",
        "/etc",
        "a\0b",
        "\n\u{1b}[31m",
        "",
    ];
    let mut batch = Vec::new();
    for app in nasty {
        for pre in nasty {
            batch.push(Event::new("e").header("app", app).header("pre", pre));
        }
    }
    let refused = w.write_batch(&batch, Instant::now(), 0).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    w.close_all(Instant::now()).unwrap();
    let all = all_files(d.path());
    assert!(!all.is_empty());
    for f in &all {
        assert!(f.starts_with("a/b/logs/"), "{f} is outside hdfs.path");
        assert!(
            !f.contains('\0') && !f.contains('\n') && !f.contains('\u{1b}'),
            "{f:?}"
        );
    }
    // `/` from the template still makes directories; from a value it does not.
    assert!(
        all.iter().any(|f| f.starts_with("a/b/logs/..%2F..%2Fx/x/")),
        "{all:?}"
    );
    assert!(
        all.iter().any(|f| f.starts_with("a/b/logs/%2E%2E/x/")),
        "{all:?}"
    );
}

#[test]
fn buckets_chosen_by_a_header_share_one_buffer_budget_and_lose_nothing() {
    let fs = SimFs::new(3);
    let mut c = cfg("/logs/%{app}");
    c.max_buffer_bytes = 16 * 1024;
    let mut w = writer(c, Arc::new(fs.clone()));
    let gauge = Arc::new(super::super::budget::BufferGauge::default());
    w.set_buffer_gauge(gauge.clone());
    let t = Instant::now();
    let body = "x".repeat(400);
    let mut sent = Vec::new();
    for batch in 0..3u32 {
        // 40 buckets, 25 events each: about 400 KiB per batch, 25 times the budget.
        let events: Vec<Event> = (0..1000u32)
            .map(|i| {
                let line = format!("{batch}-{i:04}-{body}");
                sent.push(line.clone());
                Event::new(line).header("app", format!("app{:02}", i % 40))
            })
            .collect();
        assert!(w.write_batch(&events, t, 0).unwrap().is_empty());
        assert_eq!(gauge.bytes(), 0, "a written batch leaves nothing buffered");
    }
    assert!(
        gauge.peak_bytes() <= 16 * 1024,
        "peak {}",
        gauge.peak_bytes()
    );
    assert!(gauge.peak_bytes() > 8 * 1024, "peak {}", gauge.peak_bytes());
    w.close_all(t).unwrap();
    let mut got = Vec::new();
    for app in fs.list_dir(Path::new("/logs")).unwrap() {
        for (_, text) in files(&fs, &Path::new("/logs").join(app)) {
            got.extend(text.lines().map(str::to_owned));
        }
    }
    got.sort();
    sent.sort();
    assert_eq!(got.len(), 3000);
    assert_eq!(got, sent, "every event exactly once");
}
