//! Segments cut back: shorter than something durable says they were. Replay notes those its
//! directory's acknowledged-end record or the checkpoint's replay position betray
//! ([`CutBack`]); here the rebuilt queue adds the rest: a queued event whose put record does
//! not lie wholly inside its segment's file was cut off with the bytes behind it (the
//! checkpoint knows exactly what it points at). Each such segment is one line naming the
//! file, its length, the length it held at least and the queued events lost; the open refuses
//! unless the policy is `salvage`, which drops those events and counts them.

use std::collections::HashMap;

use super::error::ChannelError;
use crate::io::{Fs, OpenMode};
use crate::wal::record::{frame_len, RECORD_HEADER_BYTES};
use crate::wal::replay::{CutBack, ReplayOutcome, StartPosition, BY_QUEUED_EVENTS};
use crate::wal::EventPtr;

/// A segment as recovery found it: (path, length, dir index).
type Found<'a> = (&'a std::path::Path, u64, usize);

/// The queued events (`queued`, by seq) whose put record is cut off by the end of their
/// segment's file; each segment holding any is added to (or counted in) the outcome's
/// `cut_back` list. Reads at most one record header per segment.
pub(super) fn queued_cut_off<'q>(
    fs: &dyn Fs,
    starts: &[StartPosition],
    outcome: &mut ReplayOutcome,
    queued: impl Iterator<Item = &'q (u64, EventPtr)>,
) -> Result<Vec<(u64, EventPtr)>, ChannelError> {
    let found: HashMap<u32, Found<'_>> = outcome
        .segments
        .iter()
        .map(|s| (s.id, (s.path.as_path(), s.len, s.dir_index)))
        .collect();
    let (mut cut, straddling) = records_past_ends(fs, &found, queued)?;
    let mut held: HashMap<u32, (u64, u64)> = HashMap::new();
    for (_, ptr) in &cut {
        let e = held.entry(ptr.segment).or_default();
        e.0 += 1;
        e.1 = e.1.max(u64::from(ptr.offset) + RECORD_HEADER_BYTES as u64);
    }
    for ((seq, ptr), end) in straddling {
        cut.push((seq, ptr));
        let e = held.entry(ptr.segment).or_default();
        e.0 += 1;
        e.1 = e.1.max(end);
    }
    report_cut_back(starts, &found, held, &mut outcome.report.cut_back);
    outcome.report.cut_back.sort_by_key(|c| c.segment);
    cut.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(cut)
}

/// The queued events whose put records start at or past their segment's end, and the last
/// record inside each segment when it runs past that end (with where it ends).
#[allow(clippy::type_complexity)]
fn records_past_ends<'q>(
    fs: &dyn Fs,
    found: &HashMap<u32, Found<'_>>,
    queued: impl Iterator<Item = &'q (u64, EventPtr)>,
) -> Result<(Vec<(u64, EventPtr)>, Vec<((u64, EventPtr), u64)>), ChannelError> {
    let mut cut: Vec<(u64, EventPtr)> = Vec::new();
    // Per segment, the queued record starting last before its end: the only one that can
    // straddle it (records do not overlap).
    let mut last_inside: HashMap<u32, (u64, EventPtr)> = HashMap::new();
    for (seq, ptr) in queued {
        let Some((_, len, _)) = found.get(&ptr.segment) else {
            continue; // a missing segment: reported by `missing`
        };
        if u64::from(ptr.offset) >= *len {
            cut.push((*seq, *ptr));
            continue;
        }
        let e = last_inside.entry(ptr.segment).or_insert((*seq, *ptr));
        if ptr.offset > e.1.offset {
            *e = (*seq, *ptr);
        }
    }
    // A segment some queued record lies past is cut back; its last record inside may be too.
    let mut straddling = Vec::new();
    for (segment, (seq, ptr)) in &last_inside {
        let Some((path, len, _)) = found.get(segment) else {
            continue;
        };
        if let Some(end) = record_end(fs, path, *len, *ptr)? {
            if end > *len {
                straddling.push(((*seq, *ptr), end));
            }
        }
    }
    Ok((cut, straddling))
}

/// Adds (or completes) a cut-back report for each segment `held` names: the queued events cut
/// off and the least length the segment must have had.
fn report_cut_back(
    starts: &[StartPosition],
    found: &HashMap<u32, Found<'_>>,
    held: HashMap<u32, (u64, u64)>,
    reports: &mut Vec<CutBack>,
) {
    for (segment, (events, least)) in held {
        let Some((path, len, dir_index)) = found.get(&segment).copied() else {
            continue;
        };
        match reports.iter_mut().find(|c| c.segment == segment) {
            Some(c) => {
                c.events = events;
                if least > c.held {
                    (c.held, c.evidence) = (least, BY_QUEUED_EVENTS);
                }
            }
            None => {
                let after_checkpoint = starts
                    .get(dir_index)
                    .copied()
                    .flatten()
                    .is_none_or(|(sid, _)| segment >= sid);
                reports.push(CutBack {
                    path: path.to_path_buf(),
                    segment,
                    dir_index,
                    len,
                    held: least,
                    evidence: BY_QUEUED_EVENTS,
                    events,
                    after_checkpoint,
                });
            }
        }
    }
}

/// Where the record at `ptr` ends, from its frame header (`None` if the header does not
/// decode: damage a take reports, not a cut).
fn record_end(
    fs: &dyn Fs,
    path: &std::path::Path,
    len: u64,
    ptr: EventPtr,
) -> Result<Option<u64>, ChannelError> {
    let offset = u64::from(ptr.offset);
    let io = |op| {
        move |source| ChannelError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    };
    let file = fs.open(path, OpenMode::Read).map_err(io("open"))?;
    let mut head = [0u8; 8];
    let n = (len - offset).min(8) as usize;
    file.read_exact_at(&mut head[..n], offset)
        .map_err(io("read"))?;
    if n < head.len() {
        return Ok(Some(offset + RECORD_HEADER_BYTES as u64));
    }
    Ok(frame_len(&head).ok().map(|t| offset + t as u64))
}

/// The refusal naming every cut-back segment and what it cost.
pub(super) fn refusal(cut_back: &[CutBack], events: u64) -> ChannelError {
    let lines: Vec<String> = cut_back.iter().map(ToString::to_string).collect();
    ChannelError::SegmentsCutBack {
        detail: lines.join("; "),
        events,
    }
}
