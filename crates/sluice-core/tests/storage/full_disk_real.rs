//! A channel on a really full file system: a 4 MiB tmpfs mounted for the test. Puts are
//! refused with a typed error naming the directory while takes drain the channel; once the
//! drained segments are deleted, puts resume without a reopen, and no event is lost.
//!
//! Mounting needs root (CI runs as root); elsewhere the test says so and passes without
//! running. The simulated file system covers the same logic everywhere (storage/full_disk.rs).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "acts on the real disk behind the channel's back, as an operator or a full disk would"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_core::{ChannelError, Event, FileChannel, FileChannelConfig};

struct Mount(PathBuf, tempfile::TempDir);

impl Mount {
    fn tmpfs(size: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.path().to_path_buf(), dir))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = &self.1;
    }
}

fn body(i: usize) -> Vec<u8> {
    let mut b = format!("{i:08}-").into_bytes();
    b.resize(1024, b'x');
    b
}

fn put_one(ch: &FileChannel, i: usize) -> Result<(), ChannelError> {
    let mut tx = ch.transaction();
    tx.put(Event::new(body(i)))?;
    tx.commit()
}

fn take_n(ch: &FileChannel, n: usize) -> Vec<Vec<u8>> {
    let mut tx = ch.transaction();
    let mut out = Vec::new();
    for _ in 0..n {
        match tx.take().unwrap() {
            Some(e) => out.push(Vec::from(e.into_parts().1)),
            None => break,
        }
    }
    tx.commit().unwrap();
    out
}

#[test]
fn a_full_tmpfs_refuses_puts_drains_by_takes_and_resumes_after_space_returns() {
    let Some(disk) = Mount::tmpfs("4m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let ckpt = tempfile::tempdir().unwrap();
    let data = disk.path().join("data");
    let mut cfg = FileChannelConfig::with_dirs(ckpt.path(), vec![data.clone()]);
    cfg.max_file_size_bytes = 256 * 1024;
    cfg.minimum_required_space_bytes = 1 << 20;
    cfg.capacity = 100_000;
    let ch = FileChannel::open(cfg).unwrap();

    // Fill until refused.
    let mut next = 0;
    let err = loop {
        match put_one(&ch, next) {
            Ok(()) => next += 1,
            Err(e) => break e,
        }
        assert!(next < 10_000, "a 4 MiB file system never filled");
    };
    assert!(matches!(err, ChannelError::DiskFull(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&data.display().to_string()), "{msg}");
    assert!(next > 1000, "refused too early, after {next} events: {msg}");
    // Still refused: the failed put left nothing behind.
    assert!(put_one(&ch, next).is_err());

    // Takes keep working while the disk is full.
    let mut taken = Vec::new();
    while taken.len() < next * 3 / 4 {
        let got = take_n(&ch, 100);
        assert!(!got.is_empty());
        taken.extend(got);
    }
    // A checkpoint deletes the drained segments; space returns and puts resume.
    ch.checkpoint().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for _ in 0..200 {
        put_one(&ch, next).unwrap();
        next += 1;
    }
    ch.close().unwrap();

    // Nothing lost, nothing out of order, across a reopen.
    let ch = FileChannel::open(FileChannelConfig::with_dirs(ckpt.path(), vec![data])).unwrap();
    loop {
        let got = take_n(&ch, 500);
        if got.is_empty() {
            break;
        }
        taken.extend(got);
    }
    ch.close().unwrap();
    assert_eq!(taken.len(), next);
    for (i, b) in taken.iter().enumerate() {
        assert_eq!(b, &body(i), "event {i}");
    }
}

/// Fills the file system holding `dir` to the last byte with a filler file; returns it.
fn fill_to_the_brim(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    for _ in 0..100_000 {
        if f.write_all(&chunk).and_then(|()| f.flush()).is_err() {
            break;
        }
    }
    // Whatever is left below one block.
    for _ in 0..4096 {
        if f.write_all(&[0u8]).is_err() {
            break;
        }
    }
    path
}

#[test]
fn a_channel_reopens_on_a_tmpfs_with_no_byte_free_and_drains_once_space_returns() {
    let Some(disk) = Mount::tmpfs("4m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let ckpt = tempfile::tempdir().unwrap();
    let data = disk.path().join("data");
    let mut cfg = FileChannelConfig::with_dirs(ckpt.path(), vec![data.clone()]);
    cfg.max_file_size_bytes = 256 * 1024;
    cfg.minimum_required_space_bytes = 1 << 20;
    cfg.capacity = 100_000;
    let ch = FileChannel::open(cfg.clone()).unwrap();
    let mut next = 0;
    while put_one(&ch, next).is_ok() {
        next += 1;
        assert!(next < 10_000, "a 4 MiB file system never filled");
    }
    drop(ch);
    let filler = fill_to_the_brim(disk.path());
    let segments = || std::fs::read_dir(&data).unwrap().count();
    let before = segments();
    for attempt in 0..3 {
        let ch = FileChannel::open(cfg.clone())
            .unwrap_or_else(|e| panic!("reopen {attempt} on a full disk failed: {e}"));
        assert_eq!(ch.stats().queued, next as u64);
        drop(ch);
    }
    assert_eq!(segments(), before, "reopening a full disk started segments");
    std::fs::remove_file(filler).unwrap();
    let ch = FileChannel::open(cfg).unwrap();
    let mut taken = Vec::new();
    loop {
        let got = take_n(&ch, 500);
        if got.is_empty() {
            break;
        }
        taken.extend(got);
    }
    assert_eq!(taken.len(), next);
    for (i, b) in taken.iter().enumerate() {
        assert_eq!(b, &body(i), "event {i}");
    }
}
