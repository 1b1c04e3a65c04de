//! Missing segments: what recovery knows must exist, and the error naming what does not. A
//! directory's replay-position segment (its newest when the checkpoint was written, never
//! deleted while a checkpoint names it), every predecessor a segment header names after that
//! position, and the segment a directory's head record names as its newest. Each missing one
//! is a line naming the file, why it must exist and how many queued events it held.

use super::config::FileChannelConfig;
use super::error::ChannelError;
use crate::checkpoint::CheckpointImage;
use crate::io::Fs;
use crate::wal::replay::{list_segments, ReplayOutcome, StartPosition};
use crate::wal::segment::segment_file_name;

/// A segment of a data directory: (directory index, segment id).
pub(super) type DirSegment = (usize, u32);

/// Replay start positions from an image, and the directories whose position segment is gone
/// (`(dir index, segment)`): a directory's newest segment at the checkpoint is never deleted,
/// so its absence means the directory lost segments (a replaced disk, an empty mount point,
/// a deleted file). Segment 0 means the directory had no segment yet.
pub(super) fn starts_from(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    img: &CheckpointImage,
) -> Result<(Vec<StartPosition>, Vec<DirSegment>), ChannelError> {
    let mut starts = Vec::with_capacity(config.data_dirs.len());
    let mut absent = Vec::new();
    let dirs = config.data_dirs.len();
    for (i, dir) in config.data_dirs.iter().enumerate() {
        match super::position::position_of(fs, dir, i, dirs, &img.positions) {
            Some(p) if p.segment != 0 => {
                let present = list_segments(fs, dir)
                    .map_err(ChannelError::Recovery)?
                    .iter()
                    .any(|(id, _)| *id == p.segment);
                if !present {
                    absent.push((i, p.segment));
                }
                starts.push(Some((p.segment, p.offset)));
            }
            _ => starts.push(None),
        }
    }
    Ok((starts, absent))
}

/// Directories whose head record names a segment that is gone although it would be the
/// directory's newest (no later segment of it exists) and lies past its replay position.
pub(super) fn missing_heads(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    starts: &[StartPosition],
    outcome: &ReplayOutcome,
) -> Vec<DirSegment> {
    let mut out = Vec::new();
    for (i, dir) in config.data_dirs.iter().enumerate() {
        let Some(head) = crate::wal::head::read(fs, dir) else {
            continue;
        };
        let past_position = starts
            .get(i)
            .copied()
            .flatten()
            .is_none_or(|(sid, _)| head > sid);
        let newer_or_same = outcome
            .segments
            .iter()
            .any(|s| s.dir_index == i && s.id >= head);
        if past_position && !newer_or_same {
            out.push((i, head));
        }
    }
    out
}

/// The segment files known to be missing, one line each naming the file, why it must exist
/// and how many queued events it held.
pub(super) fn missing_segment_files(
    config: &FileChannelConfig,
    absent_positions: &[DirSegment],
    heads: &[DirSegment],
    outcome: &ReplayOutcome,
    missing_events: &[(u64, u32)],
) -> Vec<String> {
    let mut why: std::collections::BTreeMap<(usize, u32), &'static str> = Default::default();
    for (dir, id) in heads {
        why.insert(
            (*dir, *id),
            "its directory's newest segment (named by the directory's head record, written at \
             every roll)",
        );
    }
    for (dir, id) in absent_positions {
        why.insert(
            (*dir, *id),
            "the checkpoint's replay position for its directory (the newest segment then)",
        );
    }
    for (dir, id, _) in &outcome.chain_gaps {
        why.entry((*dir, *id))
            .or_insert("written after the checkpoint: a later segment of its directory follows it");
    }
    // Segments queued events point into but that are missing everywhere, in the directory
    // that held them if known.
    let mut lines = Vec::new();
    for ((dir, id), reason) in &why {
        let path = config
            .data_dirs
            .get(*dir)
            .map(|d| d.join(segment_file_name(*id)))
            .unwrap_or_default();
        let held = missing_events.iter().filter(|(_, s)| s == id).count();
        lines.push(format!(
            "segment {} is missing: {reason}; {held} queued events of the checkpoint were in it, \
             and any events committed to it after the checkpoint",
            path.display()
        ));
    }
    lines
}

pub(super) fn missing_error(missing: &[(u64, u32)], segments: &[String]) -> ChannelError {
    let mut by_segment: std::collections::BTreeMap<u32, u64> = Default::default();
    for (_, s) in missing {
        *by_segment.entry(*s).or_default() += 1;
    }
    let mut parts = Vec::new();
    let first = missing.first().copied();
    if let Some((seq, segment)) = first {
        let list: Vec<String> = by_segment
            .iter()
            .map(|(s, n)| format!("{n} in segment {s}"))
            .collect();
        parts.push(format!(
            "queued event {seq} points into segment {segment}, which is missing from every data \
             directory ({} queued events point into missing segments: {})",
            missing.len(),
            list.join(", ")
        ));
    }
    parts.extend(segments.iter().cloned());
    ChannelError::SegmentsMissing {
        detail: parts.join("; "),
        events: missing.len() as u64,
        first,
    }
}
