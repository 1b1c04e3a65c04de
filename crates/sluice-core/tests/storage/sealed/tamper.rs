//! Sealed segments altered on disk: a flipped, swapped, moved or cut record, and a segment
//! of another channel under the same keys, are found and named, never delivered altered.

use std::path::PathBuf;

use super::{bodies, frames, put_all, read_all, resalt, sealed_config, segments, write_all};
use crate::common::{drain, Bed};
use sluice_core::io::{write_file_atomic, Fs, OpenMode};
use sluice_core::{ChannelError, FileChannel, FileChannelConfig, RecoveryPolicy};

/// Opens `config` under `policy` and returns the error, or the events it delivers.
fn open_under(
    bed: &Bed,
    config: &FileChannelConfig,
    policy: RecoveryPolicy,
) -> Result<Vec<String>, ChannelError> {
    let mut c = config.clone();
    c.recovery_policy = policy;
    FileChannel::open_with_fs(c, bed.fs.clone()).map(|ch| drain(&ch))
}

/// A fresh sealed channel holding `want`, closed; returns its config.
fn written(bed: &Bed, want: &[String]) -> FileChannelConfig {
    let mut config = sealed_config(bed, "key-0");
    config.checkpoint_on_close = false;
    let ch = bed.open(&config);
    put_all(&ch, want);
    drop(ch);
    config
}

/// Alters a written channel's segments; answers the segment it altered.
type Tamper = fn(&dyn Fs, &[(u32, PathBuf)]) -> PathBuf;

/// One bit of the fourth record of the first segment flipped (and the frame re-salted).
fn flip_a_bit(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (id, path) = &segs[0];
    let mut b = read_all(fs, path);
    let (at, t) = frames(&b)[3];
    b[at + t - 20] ^= 0x04;
    resalt(&mut b[at..at + t], *id);
    write_all(fs, path, &b);
    path.clone()
}

/// Two puts of one length swapped within the first segment.
fn swap_two_puts(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (_, path) = &segs[0];
    let mut b = read_all(fs, path);
    let f = frames(&b);
    let (i, j) = (0..f.len())
        .flat_map(|i| (i + 1..f.len()).map(move |j| (i, j)))
        .find(|(i, j)| f[*i].1 == f[*j].1 && b[f[*i].0 + 8] == 1 && b[f[*j].0 + 8] == 1)
        .expect("two puts of one length");
    let (a, t) = f[i];
    let c = f[j].0;
    let first = b[a..a + t].to_vec();
    b.copy_within(c..c + t, a);
    b[c..c + t].copy_from_slice(&first);
    write_all(fs, path, &b);
    path.clone()
}

/// The first record of one segment put in place of another segment's first (re-salted).
fn move_to_another_segment(fs: &dyn Fs, segs: &[(u32, PathBuf)]) -> PathBuf {
    let (_, from) = &segs[0];
    let (to_id, to) = segs
        .iter()
        .find(|(_, p)| p != from)
        .expect("a second segment");
    let src = read_all(fs, from);
    let mut dst = read_all(fs, to);
    let (at, t) = frames(&src)[0];
    let (dat, dt) = frames(&dst)[0];
    assert_eq!(at, dat);
    let mut frame = src[at..at + t].to_vec();
    resalt(&mut frame, *to_id);
    dst.splice(dat..dat + dt, frame);
    write_all(fs, to, &dst);
    to.clone()
}

#[test]
fn a_flipped_swapped_moved_or_cut_record_is_found_and_never_delivered_altered() {
    let flip: Tamper = flip_a_bit;
    let swap: Tamper = swap_two_puts;
    let moved: Tamper = move_to_another_segment;
    for (what, tamper) in [("flipped", flip), ("swapped", swap), ("moved", moved)] {
        let bed = Bed::real();
        let want = bodies(what, 400);
        let config = written(&bed, &want);
        let segs = segments(bed.fs.as_ref(), &config);
        let path = tamper(bed.fs.as_ref(), &segs);
        let e = open_under(&bed, &config, RecoveryPolicy::Strict)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&path.display().to_string()) && e.contains("authentication tag"),
            "{what}: {e}"
        );
        let got = open_under(&bed, &config, RecoveryPolicy::Salvage).unwrap();
        assert!(got.len() < want.len(), "{what}: nothing dropped");
        assert!(
            got.iter().all(|g| want.contains(g)),
            "{what}: an altered event delivered"
        );
    }
    a_cut_segment_is_refused_by_name();
}

/// Cut: a segment shortened below what was acknowledged is refused, naming it.
fn a_cut_segment_is_refused_by_name() {
    let bed = Bed::real();
    let want = bodies("cut", 400);
    let config = written(&bed, &want);
    let (_, path) = &segments(bed.fs.as_ref(), &config)[1];
    let b = read_all(bed.fs.as_ref(), path);
    let (at, _) = frames(&b)[2];
    bed.fs
        .open(path, OpenMode::ReadWrite)
        .unwrap()
        .set_len(at as u64 + 10)
        .unwrap();
    let e = open_under(&bed, &config, RecoveryPolicy::TolerateTail)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_sealed_segment_of_another_channel_under_the_same_keys_is_refused_by_name() {
    for bed in Bed::both() {
        let ours = sealed_config(&bed, "key-0");
        put_all(&bed.open(&ours), &bodies("ours", 100));
        let mut theirs = crate::common::config_under(&bed.root.join("other"), 1);
        theirs.max_file_size_bytes = 16 << 10;
        theirs.encryption = ours.encryption.clone();
        put_all(&bed.open(&theirs), &bodies("theirs", 400));
        let ours_max = segments(bed.fs.as_ref(), &ours).last().unwrap().0;
        let (id, from) = segments(bed.fs.as_ref(), &theirs).pop().unwrap();
        assert!(
            id > ours_max,
            "their newest segment {id} is past ours {ours_max}"
        );
        let to = ours.data_dirs[0].join(from.file_name().unwrap());
        let bytes = read_all(bed.fs.as_ref(), &from);
        write_file_atomic(bed.fs.as_ref(), &to, &bytes).unwrap();
        let e = FileChannel::open_with_fs(ours.clone(), bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&to.display().to_string()) && e.contains("another channel"),
            "{e}"
        );
        bed.fs.remove_file(&to).unwrap();
        assert_eq!(drain(&bed.open(&ours)), bodies("ours", 100));
    }
}
