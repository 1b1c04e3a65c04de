//! The checkpoint's deduplication section (version 2, between the dependencies and the
//! entries): the channel's own origin and next id, then each origin's committed ranges.
//!
//! `own_origin u64 | own_next u64 | n_origins u32`, then per origin (strictly increasing):
//! `origin u64 | last_seen_ms u64 | n_ranges u32 | (lo u64 | hi u64) * n_ranges`, the ranges
//! sorted, non-empty, disjoint and not touching (what `DedupTable` keeps).

use super::{CheckpointError, Reader};
use crate::dedup::OriginState;

/// Most origins a checkpoint holds.
pub const DEDUP_ORIGINS_MAX: usize = 1 << 24;
/// Most ranges of one origin.
pub const DEDUP_RANGES_MAX: usize = 1 << 16;
/// Bytes of the section's fixed part.
pub const DEDUP_FIXED_BYTES: usize = 20;
/// Bytes of an origin's fixed part.
pub const DEDUP_ORIGIN_BYTES: usize = 20;
/// Bytes of one range.
pub const DEDUP_RANGE_BYTES: usize = 16;

/// What a checkpoint holds of the deduplication state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupImage {
    /// The channel's own origin (0: none yet, as in a version-1 checkpoint).
    pub own_origin: u64,
    /// The next id of the own origin to give.
    pub own_next: u64,
    /// Each origin and what was committed of it, by origin.
    pub origins: Vec<(u64, OriginState)>,
}

impl DedupImage {
    /// Bytes of the section.
    pub fn encoded_len(&self) -> usize {
        DEDUP_FIXED_BYTES
            + self
                .origins
                .iter()
                .map(|(_, o)| DEDUP_ORIGIN_BYTES + o.ranges.len() * DEDUP_RANGE_BYTES)
                .sum::<usize>()
    }
}

fn ranges_well_formed(ranges: &[(u64, u64)]) -> bool {
    ranges.iter().all(|(lo, hi)| lo < hi) && ranges.windows(2).all(|w| w[0].1 < w[1].0)
}

/// Asserts what [`decode`] checks.
pub(super) fn assert_encodable(d: &DedupImage) {
    assert!(d.origins.len() <= DEDUP_ORIGINS_MAX, "too many origins");
    assert!(
        d.origins.windows(2).all(|w| w[0].0 < w[1].0),
        "origins not strictly increasing"
    );
    for (id, o) in &d.origins {
        assert!(
            o.ranges.len() <= DEDUP_RANGES_MAX,
            "origin {id:x}: too many ranges"
        );
        assert!(
            ranges_well_formed(&o.ranges),
            "origin {id:x}: ranges malformed"
        );
    }
}

/// Appends the section.
pub(super) fn encode(d: &DedupImage, b: &mut Vec<u8>) {
    b.extend_from_slice(&d.own_origin.to_le_bytes());
    b.extend_from_slice(&d.own_next.to_le_bytes());
    b.extend_from_slice(&super::count_u32(d.origins.len()).to_le_bytes());
    for (id, o) in &d.origins {
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&o.last_seen_ms.to_le_bytes());
        b.extend_from_slice(&super::count_u32(o.ranges.len()).to_le_bytes());
        for (lo, hi) in &o.ranges {
            b.extend_from_slice(&lo.to_le_bytes());
            b.extend_from_slice(&hi.to_le_bytes());
        }
    }
}

/// Reads the section (at most [`DEDUP_ORIGINS_MAX`] origins of [`DEDUP_RANGES_MAX`] ranges:
/// the loops' bounds).
pub(super) fn decode(r: &mut Reader<'_>) -> Result<DedupImage, CheckpointError> {
    let own_origin = r.u64()?;
    let own_next = r.u64()?;
    let n = r.count(DEDUP_ORIGINS_MAX, "too many deduplication origins")?;
    let mut origins: Vec<(u64, OriginState)> = Vec::with_capacity(n.min(1 << 12));
    for _ in 0..n {
        let id = r.u64()?;
        if origins.last().is_some_and(|(last, _)| *last >= id) {
            return Err(CheckpointError::Malformed("origins are not sorted"));
        }
        let last_seen_ms = r.u64()?;
        let k = r.count(DEDUP_RANGES_MAX, "too many ranges of an origin")?;
        let mut ranges = Vec::with_capacity(k.min(1 << 8));
        for _ in 0..k {
            ranges.push((r.u64()?, r.u64()?));
        }
        if !ranges_well_formed(&ranges) {
            return Err(CheckpointError::Malformed(
                "an origin's ranges are malformed",
            ));
        }
        origins.push((
            id,
            OriginState {
                last_seen_ms,
                ranges,
            },
        ));
    }
    Ok(DedupImage {
        own_origin,
        own_next,
        origins,
    })
}
