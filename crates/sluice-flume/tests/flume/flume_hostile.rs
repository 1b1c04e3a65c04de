//! Hostile Flume directories (issue 80, items 2, 6 and 7), on the real disk: a staging or
//! `flume-adopted-*` folder planted as a link to a victim directory, a state file planted as
//! a link, a FIFO in place of a log, a meta, a checkpoint or a keystore, a record claiming
//! 1 GiB in a sparse log and a sparse 1 GiB checkpoint. Each is refused with a typed error
//! naming the path (and the offset) before anything is removed, moved, waited on or
//! allocated; the victims' files stay as they were.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "plants links, FIFOs and sparse files on the real disk"
)]

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use prost::Message;

use crate::flume_fixtures::{copy_fixture, dirs_of};
use sluice_core::io::{EntryKind, Fs, Links, StdFs};
use sluice_core::keys::KeyFiles;
use sluice_core::FileChannelConfig;
use sluice_flume::adopt::{adopt, adopt_if_flume, AdoptError, AdoptRequest, ADOPT_STATE, STAGING};
use sluice_flume::{FlumeChannel, FlumeDirs, FlumeError, FlumeKeys};
use sluice_keystore::KeystoreError;

/// `now_ms` of every request here: names the folder `flume-adopted-1800000000000`.
const NOW_MS: u64 = 1_800_000_000_000;

/// A victim directory outside the channel holding three files.
pub(crate) fn victim(root: &Path) -> PathBuf {
    let v = root.join("victim");
    std::fs::create_dir_all(&v).unwrap();
    for i in 0..3 {
        std::fs::write(v.join(format!("precious-{i}")), format!("mine {i}")).unwrap();
    }
    v
}

/// Asserts the victim still holds exactly its three files, unchanged.
pub(crate) fn assert_victim_intact(v: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(v)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["precious-0", "precious-1", "precious-2"]);
    for i in 0..3 {
        let text = std::fs::read_to_string(v.join(format!("precious-{i}"))).unwrap();
        assert_eq!(text, format!("mine {i}"));
    }
}

/// The in-place configuration the agent's `adoptFlumeChannel = true` uses.
fn agent_config(dirs: &FlumeDirs) -> FileChannelConfig {
    let mut c = crate::common::config_under(Path::new("/unused"), 1);
    c.event_ids = false;
    c.checkpoint_dir = dirs.checkpoint_dir.clone();
    c.data_dirs = dirs.data_dirs.clone();
    c.adopt_flume_channel = true;
    c
}

/// `channel adopt --in-place`'s library call.
fn adopt_in_place(dirs: &FlumeDirs) -> Result<(), AdoptError> {
    let keys = FlumeKeys::new();
    let req = AdoptRequest {
        flume: dirs.clone(),
        keys: &keys,
        target: agent_config(dirs),
        in_place: true,
        skip_damaged: false,
        now_ms: NOW_MS,
        allow_plaintext: false,
    };
    adopt(Arc::new(StdFs), &req).map(|_| ())
}

/// The agent's call at a channel's start.
fn adopt_as_agent(dirs: &FlumeDirs) -> Result<(), AdoptError> {
    adopt_if_flume(
        Arc::new(StdFs),
        &agent_config(dirs),
        &FlumeKeys::new(),
        NOW_MS,
    )
    .map(|_| ())
}

/// Asserts `err` refuses `link` by name as a link.
fn assert_refused_link(err: &AdoptError, link: &Path) {
    match err {
        AdoptError::NotOwn { path, found } => {
            assert_eq!(path, link);
            assert_eq!(found, "a symbolic link");
        }
        other => panic!("refused for another reason: {other}"),
    }
    assert!(err.to_string().contains(&link.display().to_string()));
}

#[test]
fn a_staging_folder_planted_as_a_link_is_refused_and_the_victims_three_files_stay() {
    for agent in [false, true] {
        for in_checkpoint_dir in [false, true] {
            let tmp = copy_fixture("clean-stop");
            let dirs = dirs_of(tmp.path());
            let v = victim(tmp.path());
            let dir = if in_checkpoint_dir {
                &dirs.checkpoint_dir
            } else {
                &dirs.data_dirs[0]
            };
            let link = dir.join(STAGING);
            std::os::unix::fs::symlink(&v, &link).unwrap();
            let err = if agent {
                adopt_as_agent(&dirs)
            } else {
                adopt_in_place(&dirs)
            }
            .unwrap_err();
            assert_refused_link(&err, &link);
            assert_victim_intact(&v);
            assert!(
                dirs.data_dirs[0].join("log-1").exists(),
                "Flume's files not moved"
            );
            assert!(
                !dirs.checkpoint_dir.join(ADOPT_STATE).exists(),
                "nothing begun"
            );
        }
    }
}

#[test]
fn an_adopted_folder_planted_as_a_link_is_refused_before_flumes_files_move() {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    let v = victim(tmp.path());
    let link = dirs.data_dirs[0].join(format!("flume-adopted-{NOW_MS}"));
    std::os::unix::fs::symlink(&v, &link).unwrap();
    let err = adopt_as_agent(&dirs).unwrap_err();
    assert_refused_link(&err, &link);
    assert_victim_intact(&v);
    assert!(dirs.data_dirs[0].join("log-1").exists());
}

#[test]
fn a_state_file_planted_as_a_link_is_refused_and_a_planted_temporary_is_never_written_through() {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    let v = victim(tmp.path());
    let state = dirs.checkpoint_dir.join(ADOPT_STATE);
    std::os::unix::fs::symlink(v.join("precious-0"), &state).unwrap();
    assert_refused_link(&adopt_in_place(&dirs).unwrap_err(), &state);
    std::fs::remove_file(&state).unwrap();
    // A temporary planted as a link is removed, not truncated through: the adoption runs.
    let tmp_state = dirs.checkpoint_dir.join(format!("{ADOPT_STATE}.tmp"));
    std::os::unix::fs::symlink(v.join("precious-1"), &tmp_state).unwrap();
    adopt_in_place(&dirs).unwrap();
    assert_victim_intact(&v);
}

/// Runs `f` on another thread; fails the test if it has not returned within 5 s (a FIFO
/// waited on), else gives its result.
fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the call did not return within 5 s: it waited on the FIFO")
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo(3) reads it only.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Replaces `path` by a FIFO and opens the fixture's channel, within 5 s.
fn open_with_fifo_at(rel: &str) -> (PathBuf, FlumeError) {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    let path = tmp.path().join(rel);
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
    let err = within_5s(move || {
        FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new())
            .map(|_| ())
            .err()
    });
    (path, err.expect("a FIFO accepted"))
}

#[test]
fn a_fifo_as_a_log_a_meta_or_a_checkpoint_is_refused_by_name_never_waited_on() {
    for rel in ["data/log-1", "data/log-1.meta", "checkpoint/checkpoint"] {
        let (path, err) = open_with_fifo_at(rel);
        match &err {
            FlumeError::NotRegular { path: p, kind } => {
                assert_eq!(p, &path, "{rel}");
                assert_eq!(*kind, EntryKind::Fifo, "{rel}");
            }
            other => panic!("{rel}: refused for another reason: {other}"),
        }
        assert!(err.to_string().contains("a FIFO"), "{err}");
    }
}

#[test]
fn a_keystore_that_is_a_fifo_is_refused_and_the_seam_checks_the_descriptor_not_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("keystore.jceks");
    mkfifo(&store);
    let pw = tmp.path().join("keystore.password");
    std::fs::write(&pw, "secret").unwrap();
    let files = KeyFiles {
        keystore_file: store.clone(),
        store_password_file: pw,
        keys: vec![("key-0".into(), None)],
    };
    let err = within_5s(move || sluice_keystore::load_key_files(&StdFs, &files).err())
        .expect("a FIFO keystore accepted");
    assert!(
        matches!(&err, KeystoreError::NotAFile { path, .. } if *path == store),
        "{err}"
    );
    // The swap between a check and the open: the open itself refuses, on the descriptor.
    let again = store.clone();
    let e = within_5s(move || StdFs.open_regular(&again, Links::Follow).err()).unwrap();
    assert_eq!(
        sluice_core::io::not_regular(&e).map(|n| n.kind),
        Some(EntryKind::Fifo)
    );
}

#[test]
fn a_record_claiming_1_gib_in_a_sparse_log_is_refused_naming_the_file_and_the_offset() {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    for f in std::fs::read_dir(&dirs.data_dirs[0]).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::remove_dir_all(&dirs.checkpoint_dir).unwrap();
    std::fs::create_dir_all(&dirs.checkpoint_dir).unwrap();
    let log = dirs.data_dirs[0].join("log-1");
    let file = std::fs::File::create(&log).unwrap();
    let mut prefix = vec![0x7F];
    prefix.extend_from_slice(&(1u32 << 30).to_be_bytes());
    std::os::unix::fs::FileExt::write_all_at(&file, &prefix, 0).unwrap();
    file.set_len(2 << 30).unwrap();
    let err = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap_err();
    match &err {
        FlumeError::OverLimit {
            path,
            offset,
            claimed,
            ..
        } => {
            assert_eq!(path, &log);
            assert_eq!(*offset, 1, "the length's own offset");
            assert_eq!(*claimed, 1 << 30);
        }
        other => panic!("refused for another reason: {other}"),
    }
    assert!(err.to_string().contains("log-1 at byte 1"), "{err}");
}

#[test]
fn a_sparse_1_gib_checkpoint_is_read_in_windows_and_a_queue_it_cannot_hold_is_refused() {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    let ckpt = dirs.checkpoint_dir.join("checkpoint");
    let honest = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new())
        .unwrap()
        .queue;
    // Grown to 1 GiB, sparse: only the header and the queued slots are read.
    let file = std::fs::OpenOptions::new().write(true).open(&ckpt).unwrap();
    let slots = std::fs::metadata(&ckpt).unwrap().len() / 8 - 1029;
    let bytes = std::fs::read(&ckpt).unwrap();
    file.set_len(1 << 30).unwrap();
    let meta = sluice_flume::proto::Checkpoint::decode_length_delimited(
        std::fs::read(dirs.checkpoint_dir.join("checkpoint.meta"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    // The fixture's queue wraps (head 9998 of 10000): its wrapped slots are copied to where
    // the grown ring continues, so the queue is the same one in a 1 GiB ring.
    let (head, size) = (meta.queue_head as u64, meta.queue_size as u64);
    let wrapped = (head + size).saturating_sub(slots);
    assert!(wrapped > 0, "the fixture's queue wraps: {meta:?}");
    let from = (1029 * 8) as usize;
    let moved = &bytes[from..from + (wrapped * 8) as usize];
    std::os::unix::fs::FileExt::write_all_at(&file, moved, (1029 + slots) * 8).unwrap();
    let read = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new());
    assert_eq!(
        read.unwrap().queue,
        honest,
        "the same queue, read in windows"
    );
    // A meta claiming the whole 1 GiB ring queued: more than the logs could hold.
    let mut lying = meta.clone();
    lying.queue_size = ((1u64 << 30) / 8 - 1029) as i32;
    lying.queue_head = 0;
    let meta_path = dirs.checkpoint_dir.join("checkpoint.meta");
    std::fs::write(&meta_path, lying.encode_length_delimited_to_vec()).unwrap();
    let err = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap_err();
    assert!(
        matches!(&err, FlumeError::OverLimit { path, offset: 0, .. } if *path == meta_path),
        "{err}"
    );
}

#[test]
fn a_sparse_1_gib_inflight_file_or_meta_is_refused_by_its_size_before_it_is_read() {
    for rel in ["checkpoint/inflightputs", "data/log-2.meta"] {
        let tmp = copy_fixture("clean-stop");
        let dirs = dirs_of(tmp.path());
        let path = tmp.path().join(rel);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(1 << 30).unwrap();
        let err = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap_err();
        assert!(
            matches!(&err, FlumeError::OverLimit { path: p, offset: 0, claimed, .. }
                if *p == path && *claimed == 1 << 30),
            "{rel}: {err}"
        );
    }
}

#[test]
fn a_fifo_as_flumes_lock_file_is_refused_not_waited_on() {
    let tmp = copy_fixture("clean-stop");
    let dirs = dirs_of(tmp.path());
    let lock = dirs.data_dirs[0].join("in_use.lock");
    let _ = std::fs::remove_file(&lock);
    mkfifo(&lock);
    let err = within_5s(move || {
        sluice_flume::adopt::survey(&StdFs, &dirs, &FlumeKeys::new())
            .map(|_| ())
            .err()
    })
    .expect("a FIFO lock accepted");
    assert!(err.to_string().contains("a FIFO"), "{err}");
    assert!(err.to_string().contains("in_use.lock"), "{err}");
}
