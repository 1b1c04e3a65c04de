//! The spooldir reader when the files or the disk misbehave: a file that grows or shrinks
//! after it was dropped in, a spool directory that does not exist yet, a damaged tracker and
//! a full disk under the tracker; a file rewritten in place.

use super::{bodies, config, drain, spooler};
use sluice::agent::source::spooldir::spooler::Step;

#[test]
fn a_file_that_grows_after_it_was_dropped_in_is_read_to_its_new_end() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a.log");
    std::fs::write(&p, "1\n").unwrap();
    let mut s = spooler(config(d.path(), ""));
    let Step::Events { events, pos } = s.next_step().unwrap() else {
        panic!()
    };
    assert_eq!(bodies(&events), ["1"]);
    s.committed(pos).unwrap();
    std::fs::write(&p, "1\n2\n").unwrap();
    let ev = drain(&mut s);
    assert_eq!(bodies(&ev), ["2"]);
}

#[test]
fn a_file_that_shrinks_under_the_reader_is_set_aside_not_completed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a.log");
    std::fs::write(&p, "111\n222\n").unwrap();
    let mut s = spooler(config(d.path(), ""));
    let Step::Events { pos, .. } = s.next_step().unwrap() else {
        panic!()
    };
    s.committed(pos).unwrap();
    std::fs::write(&p, "1\n").unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(p.exists() && !d.path().join("a.log.COMPLETED").exists());
}

#[test]
fn an_unreadable_spool_dir_is_an_error_naming_it_until_it_appears() {
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("later");
    let mut s = spooler(config(&spool, ""));
    let e = s.next_step().unwrap_err().to_string();
    assert!(e.contains("later") && e.contains("cannot be read"), "{e}");
    std::fs::create_dir(&spool).unwrap();
    std::fs::write(spool.join("a"), "a\n").unwrap();
    assert_eq!(bodies(&drain(&mut s)), ["a"]);
}

#[test]
fn a_damaged_tracker_restarts_the_file_from_its_beginning() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.log"), "1\n2\n").unwrap();
    std::fs::create_dir(d.path().join(".flumespool")).unwrap();
    std::fs::write(
        d.path().join(".flumespool/sluice-spool-position.json"),
        b"\0\0garbage",
    )
    .unwrap();
    assert_eq!(
        bodies(&drain(&mut spooler(config(d.path(), "")))),
        ["1", "2"]
    );
    assert!(d
        .path()
        .join(".flumespool/sluice-spool-position.json.corrupt")
        .exists());
}

/// A tiny tmpfs for the tracker (needs root, as CI has; elsewhere the test passes without
/// running, saying so).
struct Tmpfs(std::path::PathBuf, tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.path().to_path_buf(), dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = &self.1;
    }
}

#[test]
fn a_full_disk_under_the_tracker_is_an_error_to_retry_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("64k") else {
        eprintln!("skipped: cannot mount a tmpfs (not root)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let text: String = (0..6).map(|i| format!("line{i}\n")).collect();
    std::fs::write(d.path().join("a.log"), text).unwrap();
    let tracker = fs.0.join("tracker");
    let cfg = config(
        d.path(),
        &format!(
            "a1.sources.r1.batchSize = 2\na1.sources.r1.trackerDir = {}\n",
            tracker.display()
        ),
    );
    let mut s = spooler(cfg.clone());
    let Step::Events { pos, .. } = s.next_step().unwrap() else {
        panic!()
    };
    s.committed(pos).unwrap();
    // Fill the file system.
    let filler = fs.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
    let Step::Events { events, pos } = s.next_step().unwrap() else {
        panic!()
    };
    assert_eq!(bodies(&events), ["line2", "line3"]);
    let e = s.committed(pos).unwrap_err().to_string();
    assert!(
        e.contains("tracker") && e.contains("sluice-spool-position.json"),
        "{e}"
    );
    // The task retries the same save until it succeeds; nothing is read meanwhile.
    std::fs::remove_file(&filler).unwrap();
    s.committed(pos).unwrap();
    drop(s);
    let ev = drain(&mut spooler(cfg));
    assert_eq!(bodies(&ev), ["line4", "line5"]);
}

/// Whether `e` carries a Sluice event id.
fn has_id(e: &sluice_core::Event) -> bool {
    e.headers.get(sluice_core::dedup::EVENT_ID_HEADER).is_some()
}

#[test]
fn a_file_rewritten_in_place_is_read_again_from_its_start_without_the_ids_of_its_first_version() {
    // Ids derive from the inode and the offsets: v2's lines at offsets v1 committed would
    // repeat v1's ids, and the file channel would drop them as resends.
    for restart in [false, true] {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, "v1-line-1\nv1-line-2\nv1-line-3\n").unwrap();
        let cfg = config(d.path(), "a1.sources.r1.batchSize = 1\n");
        let mut s = spooler(cfg.clone());
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap());
        for _ in 0..2 {
            let Step::Events { events, pos } = s.next_step().unwrap() else {
                panic!()
            };
            // ext4 here keeps birth times, so v1's lines carry ids.
            assert!(events.iter().all(has_id), "v1 without ids");
            s.committed(pos).unwrap();
        }
        // Rewritten in place: first shorter than what was read (set aside), then v2.
        std::fs::write(&p, "x\n").unwrap();
        // What was read before (v1's lines in the read buffer) may still come; then the
        // shrunk file is set aside.
        let before = bodies(&drain(&mut s));
        assert!(before.iter().all(|b| b.starts_with("v1-")), "{before:?}");
        std::fs::write(&p, "v2-line-1\nv2-line-2\nv2-line-3\nv2-line-4\n").unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap()),
            ino,
            "rewritten in place"
        );
        if restart {
            drop(s);
            s = spooler(cfg);
        }
        let ev = drain(&mut s);
        assert_eq!(
            bodies(&ev),
            ["v2-line-1", "v2-line-2", "v2-line-3", "v2-line-4"],
            "restart = {restart}"
        );
        assert!(!ev.iter().any(has_id), "restart = {restart}: v2 with ids");
        assert!(d.path().join("a.log.COMPLETED").exists());
    }
}
