//! Tests of the simulated file system itself.

use super::*;

#[test]
fn synced_bytes_survive_a_crash_and_unsynced_directory_entries_vanish() {
    let fs = SimFs::new(1);
    let dir = Path::new("/d");
    fs.create_dir_all(dir).unwrap();
    let f = fs.open(&dir.join("a"), OpenMode::CreateNew).unwrap();
    f.write_all_at(b"hello", 0).unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(dir).unwrap();
    f.write_all_at(b" world", 5).unwrap();
    let g = fs.open(&dir.join("b"), OpenMode::CreateNew).unwrap();
    g.write_all_at(b"x", 0).unwrap();
    g.sync_data().unwrap();
    for seed in 0..20 {
        let img = fs.crash_image(seed);
        let bytes = crate::io::read_file(&img, &dir.join("a")).unwrap();
        assert!(bytes.starts_with(b"hello"), "seed {seed}: {bytes:?}");
        assert!(!img.exists(&dir.join("b")), "unsynced entry survived");
    }
}

#[test]
fn crash_fault_stops_every_later_operation() {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    fs.inject(Fault::Crash { at: 2 });
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    assert!(f.write_all_at(b"x", 0).is_err());
    assert!(f.sync_data().is_err());
    assert!(fs.has_crashed());
}

#[test]
fn space_limit_gives_enospc_after_a_partial_write() {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    fs.set_space_limit(Some(10));
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    let err = f.write_all_at(&[1u8; 16], 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(f.len().unwrap(), 10);
    assert_eq!(fs.available_space(Path::new("/d")).unwrap(), 0);
}

#[test]
fn second_lock_on_a_directory_is_refused_until_the_first_is_dropped() {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    let l = fs.lock_dir(Path::new("/d")).unwrap();
    assert_eq!(
        fs.lock_dir(Path::new("/d")).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(l);
    assert!(fs.lock_dir(Path::new("/d")).is_ok());
}

#[test]
fn a_simulated_link_or_fifo_is_reported_as_such_and_refused_where_a_regular_file_must_be() {
    use crate::io::{not_regular, EntryKind, Links};
    let fs = SimFs::new(1);
    let dir = Path::new("/d");
    fs.create_dir_all(dir).unwrap();
    let f = fs.open(&dir.join("real"), OpenMode::CreateNew).unwrap();
    f.write_all_at(b"abc", 0).unwrap();
    fs.make_symlink(&dir.join("link"), &dir.join("real"))
        .unwrap();
    fs.make_fifo(&dir.join("fifo")).unwrap();
    fs.set_foreign_owner(&dir.join("real"));
    assert_eq!(fs.list_dir(dir).unwrap(), ["fifo", "link", "real"]);
    let kind = |p: &str| fs.entry_info(&dir.join(p)).unwrap().kind;
    assert_eq!(kind("link"), EntryKind::Symlink);
    assert_eq!(kind("fifo"), EntryKind::Fifo);
    assert!(!fs.entry_info(&dir.join("real")).unwrap().own);
    let refused = |p: &str, links| {
        let e = fs.open_regular(&dir.join(p), links).unwrap_err();
        not_regular(&e).map(|n| n.kind)
    };
    assert_eq!(refused("link", Links::Refuse), Some(EntryKind::Symlink));
    assert_eq!(refused("fifo", Links::Follow), Some(EntryKind::Fifo));
    let through = fs.open_regular(&dir.join("link"), Links::Follow).unwrap();
    assert_eq!(through.len().unwrap(), 3);
    for mode in [
        OpenMode::Read,
        OpenMode::ReadWrite,
        OpenMode::CreateTruncate,
    ] {
        let e = fs.open(&dir.join("link"), mode).unwrap_err();
        let refused = crate::io::link_refused(&e).map(|l| l.path.clone());
        assert_eq!(refused, Some(dir.join("link")), "{mode:?}: {e}");
    }
    assert_eq!(
        fs.open_regular(&dir.join("real"), Links::Refuse)
            .unwrap()
            .len()
            .unwrap(),
        3
    );
    fs.remove_file(&dir.join("link")).unwrap();
    assert!(
        fs.exists(&dir.join("real")),
        "removing a link leaves its target"
    );
}

#[test]
fn zeros_go_to_a_direct_file_aligned_in_one_write_per_mib() {
    // The zeroing ahead of a direct-I/O segment: an unaligned buffer of zeros is EINVAL on a
    // direct file, which made the zeroing fail or succeed by where the allocator put it (and
    // the crash sweeps that count operations flaky).
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    f.write_all_at(&[7; 8192], 0).unwrap();
    drop(f);
    let d = fs.open_direct(Path::new("/d/a")).unwrap();
    let ops = fs.op_count();
    let len = (1 << 20) + crate::io::DIRECT_ALIGN;
    d.write_zeros_at(len, crate::io::DIRECT_ALIGN as u64)
        .unwrap();
    assert_eq!(fs.op_count() - ops, 2, "a MiB per write");
    let back = crate::io::read_file(&fs, Path::new("/d/a")).unwrap();
    assert_eq!(back.len(), crate::io::DIRECT_ALIGN + len);
    assert!(back[..crate::io::DIRECT_ALIGN].iter().all(|b| *b == 7));
    assert!(back[crate::io::DIRECT_ALIGN..].iter().all(|b| *b == 0));
}

#[test]
fn modification_times_follow_the_writes_and_a_crash_image_goes_on_from_them() {
    let fs = SimFs::new(3);
    let dir = Path::new("/d");
    fs.create_dir_all(dir).unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    let fa = fs.open(&a, OpenMode::CreateNew).unwrap();
    fa.write_all_at(b"one", 0).unwrap();
    fs.open(&b, OpenMode::CreateNew).unwrap();
    assert!(fs.modified(&a).unwrap() < fs.modified(&b).unwrap());
    fa.write_all_at(b"two", 3).unwrap();
    assert!(fs.modified(&a).unwrap() > fs.modified(&b).unwrap());
    fa.sync_data().unwrap();
    fs.sync_dir(dir).unwrap();
    let image = fs.crash_image(1);
    let was = image.modified(&a).unwrap();
    let c = dir.join("c");
    image.open(&c, OpenMode::CreateNew).unwrap();
    assert!(
        image.modified(&c).unwrap() > was,
        "the image's clock goes on"
    );
    assert!(fs.modified(Path::new("/d/none")).is_err());
}
