//! Adopting Flume's own file channels (`shared/reference/flume-channel/`): into new
//! directories and in place, on the real file system, and under a power loss at every
//! operation of an in-place adoption on the simulated one, each followed by a rerun: the new
//! channel always queues exactly what Flume delivered, in its order, and Flume's files are
//! left byte for byte as they were.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "copies Flume's fixtures from the shared folder and checks its files on the real disk"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::config_under;
use crate::flume_fixtures::{copy_fixture, dirs_of, fixtures, truth};
use sluice_core::io::{Fault, Fs, OpenMode, SimFs, StdFs};
use sluice_core::{ChannelError, FileChannel, FileChannelConfig};
use sluice_flume::adopt::{adopt, survey, AdoptError, AdoptRequest, ADOPTED_PREFIX, ADOPT_STATE};
use sluice_flume::{FlumeDirs, FlumeKeys};

type Events = Vec<(String, BTreeMap<String, String>)>;

/// Takes everything from the channel, committing, as the truth is written.
fn drain_all(ch: &FileChannel) -> Events {
    let mut out = Vec::new();
    loop {
        let mut tx = ch.transaction();
        let mut n = 0;
        while n < 500 {
            match tx.take().unwrap() {
                Some(e) => {
                    let (h, b) = e.into_parts();
                    out.push((String::from_utf8(b.to_vec()).unwrap(), h.to_map()));
                    n += 1;
                }
                None => break,
            }
        }
        tx.commit().unwrap();
        if n == 0 {
            return out;
        }
    }
}

/// Asserts `got` is `want`, naming the first event that differs (not printing thousands).
fn assert_same(got: &Events, want: &Events, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: events");
    if let Some(i) = (0..got.len()).find(|i| got[*i] != want[*i]) {
        panic!("{what}: event {i}: {:?} instead of {:?}", got[i], want[i]);
    }
}

/// A target channel under `root` that keeps headers exactly (no event ids stamped).
fn target_under(root: &Path, dirs: usize) -> FileChannelConfig {
    let mut c = config_under(root, dirs);
    c.event_ids = false;
    c
}

fn request<'a>(
    flume: FlumeDirs,
    keys: &'a FlumeKeys,
    target: FileChannelConfig,
) -> AdoptRequest<'a> {
    AdoptRequest {
        flume,
        keys,
        target,
        in_place: false,
        skip_damaged: false,
        now_ms: 1_800_000_000_000,
        allow_plaintext: false,
    }
}

/// Every file under `dir` and its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            for (p, b) in tree(&e.path()) {
                out.insert(Path::new(&e.file_name()).join(p), b);
            }
        } else {
            out.insert(
                PathBuf::from(e.file_name()),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

#[test]
fn each_fixture_adopted_into_new_directories_queues_exactly_what_flume_delivered() {
    let keys = FlumeKeys::new();
    for name in [
        "clean-stop",
        "kill9-midstream",
        "two-datadirs",
        "dual-checkpoint",
    ] {
        let tmp = copy_fixture(name);
        let before = tree(tmp.path());
        let target = target_under(&tmp.path().join("sluice"), 2);
        let done = adopt(
            Arc::new(StdFs),
            &request(dirs_of(tmp.path()), &keys, target.clone()),
        )
        .unwrap();
        let want = truth(&fixtures().join(name));
        assert_eq!(done.events, want.len() as u64, "{name}");
        assert!(!done.resumed);
        let ch = FileChannel::open(target).unwrap();
        assert_same(&drain_all(&ch), &want, name);
        ch.close().unwrap();
        let after: BTreeMap<_, _> = tree(tmp.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("sluice"))
            .collect();
        assert_eq!(after, before, "{name}: Flume's files changed");
    }
}

#[test]
fn a_survey_counts_what_an_adoption_would_queue_and_writes_nothing() {
    let tmp = copy_fixture("kill9-midstream");
    let before = tree(tmp.path());
    let s = survey(&StdFs, &dirs_of(tmp.path()), &FlumeKeys::new()).unwrap();
    let want = truth(&fixtures().join("kill9-midstream"));
    assert_eq!(s.events, want.len() as u64);
    assert!(s.damaged.is_empty());
    assert!(s.bytes > want.iter().map(|(b, _)| b.len() as u64).sum::<u64>());
    assert_eq!(s.report.counts.inflight_takes_returned, 40);
    assert_eq!(tree(tmp.path()), before);
}

/// The in-place configuration of a fixture: Sluice's channel in Flume's directories.
fn in_place_config(dirs: &FlumeDirs) -> FileChannelConfig {
    let mut c = target_under(Path::new("/unused"), 1);
    c.checkpoint_dir = dirs.checkpoint_dir.clone();
    c.data_dirs = dirs.data_dirs.clone();
    c
}

#[test]
fn in_place_flumes_files_move_into_a_folder_and_the_channel_takes_their_place() {
    let keys = FlumeKeys::new();
    let tmp = copy_fixture("kill9-midstream");
    let dirs = dirs_of(tmp.path());
    let before = tree(&dirs.data_dirs[0]);
    let mut req = request(dirs.clone(), &keys, in_place_config(&dirs));
    req.in_place = true;
    let done = adopt(Arc::new(StdFs), &req).unwrap();
    let folder = done.moved_to.unwrap();
    assert!(folder.starts_with(ADOPTED_PREFIX));
    assert_eq!(tree(&dirs.data_dirs[0].join(&folder)), before);
    let ch = FileChannel::open(in_place_config(&dirs)).unwrap();
    assert_same(
        &drain_all(&ch),
        &truth(&fixtures().join("kill9-midstream")),
        "in place",
    );
}

#[test]
fn a_directory_holding_files_is_refused_as_a_target_and_nothing_is_written() {
    let keys = FlumeKeys::new();
    let tmp = copy_fixture("clean-stop");
    let target = target_under(&tmp.path().join("sluice"), 1);
    std::fs::create_dir_all(&target.data_dirs[0]).unwrap();
    std::fs::write(target.data_dirs[0].join("notes.txt"), b"mine").unwrap();
    let err = adopt(
        Arc::new(StdFs),
        &request(dirs_of(tmp.path()), &keys, target.clone()),
    )
    .unwrap_err();
    assert!(matches!(err, AdoptError::TargetNotEmpty { .. }), "{err}");
    assert!(!target.checkpoint_dir.join(ADOPT_STATE).exists());
}

#[test]
fn an_in_place_adoption_refused_for_capacity_writes_nothing_and_a_rerun_with_room_adopts() {
    let keys = FlumeKeys::new();
    let tmp = copy_fixture("kill9-midstream");
    let dirs = dirs_of(tmp.path());
    let before = (tree(&dirs.checkpoint_dir), tree(&dirs.data_dirs[0]));
    let mut small = in_place_config(&dirs);
    small.capacity = 3;
    let mut req = request(dirs.clone(), &keys, small);
    req.in_place = true;
    let err = adopt(Arc::new(StdFs), &req).unwrap_err();
    assert!(
        matches!(err, AdoptError::OverCapacity { capacity: 3, .. }),
        "{err}"
    );
    // Flume's directories exactly as they were: no adopt.state, no staging, nothing moved.
    let after = (tree(&dirs.checkpoint_dir), tree(&dirs.data_dirs[0]));
    assert_eq!(
        after.0.keys().collect::<Vec<_>>(),
        before.0.keys().collect::<Vec<_>>()
    );
    assert_eq!(after, before, "a refused run changed Flume's files");
    req.target = in_place_config(&dirs);
    adopt(Arc::new(StdFs), &req).unwrap();
    let ch = FileChannel::open(in_place_config(&dirs)).unwrap();
    assert_same(
        &drain_all(&ch),
        &truth(&fixtures().join("kill9-midstream")),
        "rerun with room",
    );
}

#[test]
fn a_state_files_temporary_left_by_a_kill_is_the_adoptions_own_and_a_rerun_finishes() {
    // A kill between the write of `adopt.state.tmp` and its rename leaves only that file.
    let keys = FlumeKeys::new();
    let tmp = copy_fixture("clean-stop");
    let target = target_under(&tmp.path().join("sluice"), 1);
    std::fs::create_dir_all(&target.checkpoint_dir).unwrap();
    let leftover = target.checkpoint_dir.join(format!("{ADOPT_STATE}.tmp"));
    std::fs::write(&leftover, b"writ").unwrap();
    adopt(
        Arc::new(StdFs),
        &request(dirs_of(tmp.path()), &keys, target.clone()),
    )
    .unwrap();
    let ch = FileChannel::open(target).unwrap();
    assert_same(
        &drain_all(&ch),
        &truth(&fixtures().join("clean-stop")),
        "after a leftover temporary",
    );
}

/// Copies a fixture's files into the simulated file system under `/f`, durably.
fn load_into(sim: &SimFs, from: &Path, to: &Path) {
    sim.create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            load_into(sim, &e.path(), &dest);
        } else {
            let f = sim.open(&dest, OpenMode::CreateNew).unwrap();
            f.write_all_at(&std::fs::read(e.path()).unwrap(), 0)
                .unwrap();
            f.sync_data().unwrap();
        }
    }
    sim.sync_dir(to).unwrap();
}

/// `dirs` with its root moved from `from` to `to`.
fn rebase(dirs: &FlumeDirs, from: &Path, to: &Path) -> FlumeDirs {
    let r = |p: &Path| to.join(p.strip_prefix(from).unwrap());
    FlumeDirs {
        checkpoint_dir: r(&dirs.checkpoint_dir),
        backup_checkpoint_dir: dirs.backup_checkpoint_dir.as_deref().map(r),
        data_dirs: dirs.data_dirs.iter().map(|d| r(d)).collect(),
    }
}

#[test]
fn a_power_loss_at_any_operation_of_an_in_place_adoption_and_a_rerun_give_the_same_channel() {
    let keys = FlumeKeys::new();
    let tmp = copy_fixture("two-datadirs");
    let dirs = rebase(&dirs_of(tmp.path()), tmp.path(), Path::new("/f"));
    let want = truth(&fixtures().join("two-datadirs"));
    let fresh = || {
        let sim = SimFs::new(11);
        load_into(&sim, tmp.path(), Path::new("/f"));
        sim
    };
    let mut req = request(dirs.clone(), &keys, in_place_config(&dirs));
    req.in_place = true;
    // The operations of a whole adoption.
    let sim = fresh();
    let start = sim.op_count();
    adopt(Arc::new(sim.clone()), &req).unwrap();
    let ops = sim.op_count() - start;
    assert!(ops > 20, "an adoption of {ops} operations");
    let step = (ops / 150).max(1);
    let mut k = 0;
    while k <= ops {
        let sim = fresh();
        sim.inject(Fault::Crash {
            at: sim.op_count() + k,
        });
        let cut = adopt(Arc::new(sim.clone()), &req);
        let img = sim.crash_image(k);
        if cut.is_err() {
            let refused = FileChannel::open_with_fs(in_place_config(&dirs), Arc::new(img.clone()));
            if img.exists(&dirs.checkpoint_dir.join(ADOPT_STATE)) {
                assert!(
                    matches!(refused, Err(ChannelError::AdoptionInterrupted { .. })),
                    "k={k}: a half-adopted channel opened"
                );
            }
        }
        let rerun = adopt(Arc::new(img.clone()), &req)
            .unwrap_or_else(|e| panic!("k={k}: the rerun failed: {e}"));
        assert_eq!(rerun.events, want.len() as u64, "k={k}");
        let ch = FileChannel::open_with_fs(in_place_config(&dirs), Arc::new(img.clone()))
            .unwrap_or_else(|e| panic!("k={k}: {e}"));
        assert_same(&drain_all(&ch), &want, &format!("k={k}"));
        ch.close().unwrap();
        k += step;
    }
}
