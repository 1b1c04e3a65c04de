//! Damage a crash cannot explain: zeroed ranges in the middle of a segment, a newest segment
//! whose header was never written, and (with a lost checkpoint) takes whose segments were
//! deleted. Each case checks what comes out and what the report says.

use std::path::{Path, PathBuf};

use crate::common::*;
use sluice_core::io::OpenMode;
use sluice_core::FileChannel;
use sluice_core::{ChannelError, RecoveryPolicy, RecoverySource};

fn file_len(bed: &Bed, path: &Path) -> u64 {
    bed.fs.open(path, OpenMode::Read).unwrap().len().unwrap()
}

fn zero_range(bed: &Bed, path: &Path, from: u64, to: u64) {
    let f = bed.fs.open(path, OpenMode::ReadWrite).unwrap();
    f.write_all_at(&vec![0u8; (to - from) as usize], from)
        .unwrap();
    f.sync_data().unwrap();
}

/// These cases find record boundaries from file lengths: segments written through the page
/// cache end where their last record ends (direct I/O allocates ahead).
fn config(bed: &Bed) -> sluice_core::FileChannelConfig {
    let mut c = bed.config(1);
    c.direct_io = sluice_core::DirectIo::Off;
    c
}

fn open_err(bed: &Bed, cfg: &sluice_core::FileChannelConfig) -> ChannelError {
    match FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()) {
        Ok(_) => panic!("the damaged channel opened"),
        Err(e) => e,
    }
}

/// The one data segment of a channel holding three committed batches, and the byte range of
/// the middle batch. The channel is left by a power loss (no checkpoint covers the batches).
fn three_batches(bed: &mut Bed) -> (PathBuf, u64, u64) {
    let cfg = config(bed);
    let ch = bed.open(&cfg);
    put_all(&ch, &["a1", "a2"]);
    let segs = ch.segments();
    let path = segs.last().unwrap().1.clone();
    let start = file_len(bed, &path);
    put_all(&ch, &["b1", "b2"]);
    let end = file_len(bed, &path);
    put_all(&ch, &["c1"]);
    bed.power_loss(11);
    drop(ch);
    (path, start, end)
}

#[test]
fn zeroes_inside_the_newest_segment_are_a_reported_torn_tail_not_a_silent_end() {
    let mut bed = Bed::sim(5);
    let (path, start, end) = three_batches(&mut bed);
    zero_range(&bed, &path, start, end);
    let cfg = config(&bed);

    let mut strict = cfg.clone();
    strict.recovery_policy = RecoveryPolicy::Strict;
    let msg = open_err(&bed, &strict).to_string();
    assert!(
        msg.contains(&format!("{}:{start}", path.display())),
        "names file and offset: {msg}"
    );
    assert!(msg.contains(&format!("offset {end}")), "{msg}");

    // Under tolerate-tail the newest segment may end in a crash's unsynced region, where
    // writes persist out of order: it is cut at the damage, and the report says what went.
    let ch = bed.open(&cfg);
    let report = ch.recovery_info().report.clone();
    assert_eq!(report.truncated.len(), 1, "{report:?}");
    assert_eq!(report.truncated[0].1, start);
    assert!(
        report.problems[0].contains(&format!("readable records from offset {end}")),
        "{report:?}"
    );
    assert_eq!(drain(&ch), ["a1", "a2"]);
    drop(ch);

    // Salvage (on a fresh copy of the damage) keeps what follows the zeroes.
    let mut bed = Bed::sim(5);
    let (path, start, end) = three_batches(&mut bed);
    zero_range(&bed, &path, start, end);
    let mut salvage = cfg;
    salvage.recovery_policy = RecoveryPolicy::Salvage;
    let ch = bed.open(&salvage);
    let report = &ch.recovery_info().report;
    assert_eq!(report.skipped, vec![(path.clone(), start, end - start)]);
    assert_eq!(drain(&ch), ["a1", "a2", "c1"]);
}

#[test]
fn zeroes_at_the_end_of_the_newest_segment_are_trimmed_silently() {
    let mut bed = Bed::sim(6);
    let (path, _, _) = three_batches(&mut bed);
    let len = file_len(&bed, &path);
    zero_range(&bed, &path, len, len + 4096);
    let ch = bed.open(&config(&bed));
    assert!(ch.recovery_info().report.problems.is_empty());
    assert_eq!(drain(&ch), ["a1", "a2", "b1", "b2", "c1"]);
    assert_eq!(file_len(&bed, &path), len);
}

#[test]
fn zeroes_inside_an_older_segment_are_refused_by_tolerate_tail() {
    let mut bed = Bed::sim(8);
    let (path, start, end) = three_batches(&mut bed);
    // A reopen, a roll and a close make the damaged segment an older one.
    let cfg = config(&bed);
    let ch = bed.open(&cfg);
    ch.roll_segments().unwrap();
    ch.close().unwrap();
    drop(ch);
    zero_range(&bed, &path, start, end);
    bed.fs
        .remove_file(&cfg.checkpoint_dir.join("checkpoint"))
        .unwrap();
    let err = open_err(&bed, &cfg);
    assert!(
        err.to_string()
            .contains(&format!("{}:{start}", path.display())),
        "{err}"
    );
}

#[test]
fn a_newest_segment_without_a_complete_header_is_removed_and_its_id_not_reused() {
    for (bed, torn_len) in Bed::both().into_iter().zip([0usize, 7]) {
        let cfg = config(&bed);
        let ch = bed.open(&cfg);
        put_all(&ch, &["x", "y"]);
        let newest = ch.segments().iter().map(|s| s.0).max().unwrap();
        ch.close().unwrap();
        // A crash while creating the next segment: the file exists, its header does not.
        let dir = &cfg.data_dirs[0];
        let torn = dir.join(format!("log-{:010}", newest + 1));
        let f = bed.fs.open(&torn, OpenMode::CreateNew).unwrap();
        f.write_all_at(&b"SLUICEWL"[..torn_len], 0).unwrap();
        f.sync_data().unwrap();
        drop(f);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), ["x", "y"]);
        assert!(ch.segments().iter().all(|s| s.0 != newest + 1));
        put_all(&ch, &["z"]);
        ch.close().unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.recovery_info().source, RecoverySource::Checkpoint);
        assert_eq!(drain(&ch), ["z"]);
    }
}
