//! Events the writer refuses and where header values may go: an event without a usable
//! timestamp is poison (left out, the rest written once), header values never leave the
//! configured path, and buckets chosen by a header share one buffer budget.

use super::*;

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
    let gauge = Arc::new(crate::agent::sink::rolling::budget::BufferGauge::default());
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
