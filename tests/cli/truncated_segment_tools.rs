//! `sluice channel verify` and `inspect`, the real binary, on a channel whose newest segment
//! was cut back to its header while it was stopped (issue 47, item 3): verify exits 1 naming
//! the file and the missing bytes, inspect says open would refuse and counts nothing as
//! silently recovered.

use std::path::Path;
use std::process::Command;

use sluice_core::{Event, FileChannel, FileChannelConfig};

fn config(root: &Path) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(
        root.join("checkpoint"),
        (0..3).map(|i| root.join(format!("data{i}"))).collect(),
    );
    c.minimum_required_space_bytes = 1 << 20;
    c.direct_io = sluice_core::DirectIo::Off;
    c.checkpoint_on_close = false;
    c
}

fn sluice(root: &Path, tool: &str, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root)
        .args(["channel", tool, "--checkpoint-dir", "checkpoint"])
        .args(["--data-dirs", "data0,data1,data2"])
        .args([
            "--set",
            "minimumRequiredSpace=1048576",
            "--set",
            "directIo=false",
        ])
        .args(extra)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_and_inspect_name_a_newest_segment_cut_back_to_its_header() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cfg = config(root);
    let ch = FileChannel::open(cfg.clone()).unwrap();
    for i in 0..90 {
        let mut tx = ch.transaction();
        tx.put(Event::new(format!("line {i:03}").into_bytes()))
            .unwrap();
        tx.commit().unwrap();
    }
    drop(ch); // stopped without a checkpoint: the log after the first one is replayed
    let dir = root.join("data1");
    let mut segs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("log-"))
        .collect();
    segs.sort();
    let newest = segs.pop().unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(&newest))
        .unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(32).unwrap();
    drop(file);
    let missing = format!("{} bytes missing", len - 32);

    let (code, out, err) = sluice(root, "verify", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.contains(&format!("data1/{newest}:32: segment")) && l.contains(&missing)),
        "{out}"
    );
    assert!(err.contains("open would refuse the channel"), "{err}");

    let (code, out, err) = sluice(root, "inspect", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("open would refuse this channel"), "{out}");
    assert!(out.contains(&newest) && out.contains(&missing), "{out}");
}
