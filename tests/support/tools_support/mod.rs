//! Shared by the `tools_*` tests: running the real `sluice` binary on a channel, the fixture
//! generator (see `tests/fixtures/README.md`), copies of fixtures in temporary directories and
//! byte snapshots of a channel's files.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Every fixture and what damage it carries.
pub const FIXTURES: [&str; 6] = [
    "sound",
    "torn_tail",
    "flipped_bit",
    "missing_segment",
    "corrupt_checkpoint",
    "corrupt_backup",
];

/// Channel arguments every fixture is used with (relative to the fixture's root).
pub const CHANNEL: [&str; 14] = [
    "--checkpoint-dir",
    "checkpoint",
    "--data-dirs",
    "data0",
    "--set",
    "useDualCheckpoints=true",
    "--set",
    "backupCheckpointDir=backup",
    "--set",
    "minimumRequiredSpace=1048576",
    // Fixture segments end at their last record (direct I/O would allocate ahead).
    "--set",
    "directIo=false",
    // The fixtures pin channels without event ids (they predate them; docs/exactly-once.md).
    "--set",
    "eventIds=false",
];

/// Runs `sluice channel <tool> <CHANNEL> <extra>` in `root`, feeding `stdin`.
pub fn sluice(root: &Path, tool: &str, extra: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(root)
        .arg("channel")
        .arg(tool)
        .args(CHANNEL)
        .args(extra)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Exit code, stdout and stderr of a run.
pub fn outcome(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The bodies the generator puts, in order: 3 runs of 24 text events, the last run ending
/// with one event whose body is not UTF-8.
pub fn bodies() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (1..=71)
        .map(|i| format!("event-{i:03}").into_bytes())
        .collect();
    out.push(b"bin-\xff\xfe".to_vec());
    out
}

/// Events the generator takes (and commits) after the puts.
pub const TAKEN: usize = 6;

fn put_lines(root: &Path, bodies: &[Vec<u8>]) {
    let mut input = Vec::new();
    for b in bodies {
        input.extend_from_slice(b);
        input.push(b'\n');
    }
    let (code, _, err) = outcome(&sluice(root, "put", &["--batch", "4"], &input));
    assert_eq!(code, 0, "put failed: {err}");
}

/// Builds the sound channel in `root`: three `put` runs of 24 events (batches of 4; each run
/// opens the channel, so each fills its own segment 1..3), then a `take` of 6 events
/// (segment 4). Closing writes the checkpoint and its backup.
pub fn generate_sound(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    let all = bodies();
    for run in all.chunks(24) {
        put_lines(root, run);
    }
    let n = TAKEN.to_string();
    let (code, _, err) = outcome(&sluice(root, "take", &["--max", &n], b""));
    assert_eq!(code, 0, "take failed: {err}");
    for dir in ["checkpoint", "backup", "data0"] {
        let _ = std::fs::remove_file(root.join(dir).join("in_use.lock"));
    }
}

/// Offset of the third put record of segment 2 (32-byte header, 45-byte puts).
pub const FLIPPED_RECORD_OFFSET: u64 = 32 + 2 * 45;

fn flip(path: &Path, offset: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[offset] ^= 0x10;
    std::fs::write(path, b).unwrap();
}

/// Bytes a version-2 checkpoint without event ids or cursors has before its entries that a
/// version-1 one has not: the empty deduplication section (20) and cursor count (4).
pub const CHECKPOINT_V2_EXTRA: usize = 24;

/// Flips the bit of the fixtures' corrupt checkpoints: at offset 100 of the version-1 layout
/// (in a queue entry), wherever a version-2 checkpoint has that byte.
fn flip_checkpoint(path: &Path) {
    let version = std::fs::read(path).unwrap()[8];
    flip(
        path,
        if version >= 2 {
            100 + CHECKPOINT_V2_EXTRA
        } else {
            100
        },
    );
}

/// Builds fixture `name` in `root` (see `tests/fixtures/README.md`).
pub fn generate(name: &str, root: &Path) {
    generate_sound(root);
    let seg = |id: u32| root.join("data0").join(format!("log-{id:010}"));
    match name {
        "sound" => {}
        "torn_tail" => {
            // The first 30 bytes of a put record appended to the newest segment: a write torn
            // by a power loss.
            let first = std::fs::read(seg(1)).unwrap();
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(seg(4))
                .unwrap();
            f.write_all(&first[32..62]).unwrap();
        }
        "flipped_bit" => flip(&seg(2), FLIPPED_RECORD_OFFSET as usize + 40),
        "missing_segment" => std::fs::remove_file(seg(2)).unwrap(),
        "corrupt_checkpoint" => flip_checkpoint(&root.join("checkpoint/checkpoint")),
        "corrupt_backup" => flip_checkpoint(&root.join("backup/checkpoint")),
        other => panic!("no fixture {other}"),
    }
}

/// The checked-in fixture directory of `name`.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A private copy of a checked-in fixture.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir(name), tmp.path());
    tmp
}

/// Every file under `root` (lock files excepted) with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name() != "in_use.lock" {
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// The expected checksum-mismatch text of a damaged checkpoint file.
pub fn checkpoint_crc_problem(path: &Path) -> String {
    let b = std::fs::read(path).unwrap();
    let (body, crc) = b.split_at(b.len() - 4);
    let stored = u32::from_le_bytes(crc.try_into().unwrap());
    let computed = crc32fast::hash(body);
    format!("checkpoint checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
}
