//! The seam's answers to links on the real disk: `entry_info` reports a link as a link,
//! `open_regular` refuses one where none is expected, and `remove_own_dir` and
//! `move_entries` refuse a link (or another user's directory) at the end that must be the
//! process's own, so a victim directory behind it keeps its three files.

#![allow(
    clippy::disallowed_methods,
    reason = "plants links and files on the real disk"
)]

use std::path::{Path, PathBuf};

use sluice_core::io::{EntryKind, Fs, Links, StdFs};

/// A victim directory outside the channel holding three files.
fn victim(root: &Path) -> PathBuf {
    let v = root.join("victim");
    std::fs::create_dir_all(&v).unwrap();
    for i in 0..3 {
        std::fs::write(v.join(format!("precious-{i}")), format!("mine {i}")).unwrap();
    }
    v
}

/// Asserts the victim still holds exactly its three files, unchanged.
fn assert_victim_intact(v: &Path) {
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

#[test]
fn the_seam_reports_a_link_as_a_link_and_refuses_to_open_it_where_links_are_not_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    std::fs::write(&target, b"x").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let info = StdFs.entry_info(&link).unwrap();
    assert_eq!(info.kind, EntryKind::Symlink);
    assert!(info.own);
    let e = StdFs.open_regular(&link, Links::Refuse).unwrap_err();
    assert_eq!(
        sluice_core::io::not_regular(&e).map(|n| n.kind),
        Some(EntryKind::Symlink)
    );
    assert_eq!(
        StdFs
            .open_regular(&link, Links::Follow)
            .unwrap()
            .len()
            .unwrap(),
        1
    );
}

#[test]
fn opening_a_link_in_place_of_a_file_is_refused_by_name_in_every_mode_and_the_victim_is_untouched()
{
    use sluice_core::io::OpenMode;
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    let bytes: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&victim, &bytes).unwrap();
    let link = tmp.path().join("ev-1.log");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for mode in [
        OpenMode::Read,
        OpenMode::ReadWrite,
        OpenMode::CreateNew,
        OpenMode::CreateTruncate,
    ] {
        let e = StdFs.open(&link, mode).unwrap_err();
        if mode == OpenMode::CreateNew {
            // O_EXCL never follows a link either: the name is taken.
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
            continue;
        }
        let refused = sluice_core::io::link_refused(&e).map(|l| l.path.clone());
        assert_eq!(refused, Some(link.clone()), "{mode:?}: {e}");
        assert!(
            e.to_string()
                .ends_with("is a symbolic link; refusing to follow it"),
            "{e}"
        );
    }
    assert!(StdFs.open_direct(&link).is_err());
    assert!(std::fs::read(&victim).unwrap() == bytes, "victim changed");
}

#[test]
fn removing_an_own_directory_refuses_a_link_and_leaves_the_victim_but_empties_a_real_one() {
    let tmp = tempfile::tempdir().unwrap();
    let v = victim(tmp.path());
    let link = tmp.path().join("staging");
    std::os::unix::fs::symlink(&v, &link).unwrap();
    let e = StdFs.remove_own_dir(&link).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert_victim_intact(&v);
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir(&link).unwrap();
    std::fs::write(link.join("a"), b"1").unwrap();
    StdFs.remove_own_dir(&link).unwrap();
    assert!(!link.exists());
}

#[test]
fn moving_entries_refuses_a_link_at_the_own_end_and_moves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let v = victim(tmp.path());
    let flume = tmp.path().join("flume");
    std::fs::create_dir_all(&flume).unwrap();
    std::fs::write(flume.join("log-1"), b"flume").unwrap();
    let link = tmp.path().join("flume-adopted-1");
    std::os::unix::fs::symlink(&v, &link).unwrap();
    let names = vec!["log-1".to_string()];
    let e = StdFs
        .move_entries(&flume, &link, &names, sluice_core::io::OwnEnd::To)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert_victim_intact(&v);
    assert!(flume.join("log-1").exists());
    // From a linked staging folder: the victim's files are not moved out.
    let names: Vec<String> = (0..3).map(|i| format!("precious-{i}")).collect();
    let e = StdFs
        .move_entries(&link, &flume, &names, sluice_core::io::OwnEnd::From)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert_victim_intact(&v);
}
