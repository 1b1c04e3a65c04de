//! `sluice_core::inspect::verify` through the library on the simulated file system, with two
//! striped data directories: after a power loss it reports damage only in the newest segment
//! of a directory, after the reopen that repairs them the channel is sound, and a byte
//! corrupted anywhere is found with its file and offset.

use crate::common::*;
use sluice_core::inspect::verify;

fn put_batches(ch: &sluice_core::FileChannel, batches: usize, tag: &str) {
    for b in 0..batches {
        let bodies: Vec<String> = (0..5).map(|i| format!("{tag}-{b}-{i}")).collect();
        let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
        put_all(ch, &refs);
    }
}

#[test]
fn after_a_power_loss_verify_reports_damage_only_in_newest_segments_and_reopen_makes_the_channel_sound(
) {
    let mut torn_tails = 0;
    for seed in 0..12 {
        let mut bed = Bed::sim(seed);
        let mut config = bed.config(2);
        config.fsync_per_transaction = false;
        let ch = bed.open(&config);
        put_batches(&ch, 6, "a");
        ch.checkpoint().unwrap();
        put_batches(&ch, 6, "b");
        // Power loss with the channel still open (its later close goes to the old disk).
        bed.power_loss(seed);
        drop(ch);

        let v = verify(bed.fs.clone(), &config).unwrap();
        // Unsynced writes may persist torn, dropped or out of order, so damage may be followed
        // by good records, but only in the newest segment of a directory.
        for p in &v.problems {
            let dir = p.file.parent().unwrap();
            let names = bed.fs.list_dir(dir).unwrap();
            let newest = names
                .iter()
                .filter(|n| n.starts_with("log-"))
                .max()
                .unwrap();
            assert_eq!(p.file, dir.join(newest), "seed {seed}: {p}");
        }
        assert_eq!(v.open_refusal, None, "seed {seed}");
        torn_tails += v.problems.len();

        let ch = bed.open(&config);
        let queued = ch.stats().queued;
        ch.close().unwrap();
        let v = verify(bed.fs.clone(), &config).unwrap();
        assert!(v.is_sound(), "seed {seed}: {:?}", v.problems);
        assert_eq!(v.queued, queued, "seed {seed}");
    }
    assert!(
        torn_tails > 0,
        "no seed tore a write: the test checks nothing"
    );
}

#[test]
fn a_corrupted_byte_in_any_segment_is_found_at_its_record() {
    let bed = Bed::sim(3);
    let config = bed.config(2);
    let ch = bed.open(&config);
    put_batches(&ch, 8, "e");
    let segments = ch.segments();
    ch.close().unwrap();
    let v = verify(bed.fs.clone(), &config).unwrap();
    assert!(v.is_sound(), "{:?}", v.problems);
    let sim = bed.sim.as_ref().unwrap();
    let with_events: Vec<_> = segments.iter().filter(|(_, _, live)| *live > 0).collect();
    assert_eq!(with_events.len(), 2, "both directories hold events");
    for (_, path, _) in with_events {
        // The last body byte of the segment's first record, a 51-byte put (header k=v, a
        // 5-byte body) right after the 32-byte segment header.
        let first_put = 32 + 50;
        sim.corrupt_byte(path, first_put).unwrap();
        let v = verify(bed.fs.clone(), &config).unwrap();
        let here: Vec<String> = v
            .problems
            .iter()
            .filter(|p| &p.file == path)
            .map(|p| format!("{}: {}", p.offset, p.what))
            .collect();
        assert!(
            here.first()
                .is_some_and(|p| p.starts_with("32: record checksum mismatch")),
            "{path:?}: {here:?}"
        );
        assert!(
            here.iter().any(|p| p.starts_with("32: queued event seq")),
            "{path:?}: {here:?}"
        );
        sim.corrupt_byte(path, first_put).unwrap();
    }
}

#[test]
fn examine_refuses_a_missing_backup_directory_without_creating_it() {
    let bed = Bed::sim(5);
    let mut config = bed.config(1);
    let ch = bed.open(&config);
    put_all(&ch, &["a"]);
    ch.close().unwrap();
    config.use_dual_checkpoints = true;
    config.backup_checkpoint_dir = Some(bed.root.join("backup"));
    let result = sluice_core::inspect::examine(bed.fs.clone(), &config);
    assert!(
        result.is_err(),
        "examine accepted a missing backup directory"
    );
    assert!(!bed.fs.exists(&bed.root.join("backup")));
}

#[test]
fn verify_refuses_a_missing_backup_directory_without_creating_it() {
    let bed = Bed::sim(5);
    let mut config = bed.config(1);
    let ch = bed.open(&config);
    put_all(&ch, &["a"]);
    ch.close().unwrap();
    config.use_dual_checkpoints = true;
    config.backup_checkpoint_dir = Some(bed.root.join("backup"));
    let err = verify(bed.fs.clone(), &config).unwrap_err();
    assert!(err.to_string().contains("backup"), "{err}");
    assert!(!bed.fs.exists(&bed.root.join("backup")));
}
