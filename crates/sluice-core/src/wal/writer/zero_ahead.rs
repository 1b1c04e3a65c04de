//! Zeroing ahead: with direct I/O, a leader whose group wrote little also writes zeros over the
//! next [`ZERO_AHEAD`] bytes of the segment's allocation, so that the groups after it
//! overwrite blocks that are already written.
//!
//! The allocation ahead (`fallocate`) leaves unwritten extents: the first write into each
//! turns it into a written one, a change of metadata that the next fdatasync must commit to
//! the file system's journal before it returns. Written once with zeros, the blocks take later
//! writes in place and an fdatasync only flushes the device. Measured here (16 KiB O_DIRECT
//! write + fdatasync, alternating): into fallocated extents 1,600–2,600/s, into pre-written
//! blocks 3,800–3,900/s, zeroing 1 MiB ahead inline 2,900–3,300/s (docs/performance-findings.md,
//! "Direct I/O"). Groups of [`ZERO_AHEAD_MAX_CUT`] or more do not zero: the journal commit is
//! spread over their own bytes, and zeroing would double what they write. Nor does a small
//! group among large ones (the running average of the cuts, [`ZeroPlan::cut_avg`], at
//! [`ZERO_AHEAD_MAX_CUT`] or more): the sinks' small take commits between an RPC source's
//! 1 MiB put commits zeroed a MiB every few groups, blocks the next put group was about to
//! write anyway, under the `io` lock and in the device's bandwidth.
//!
//! Why it is safe: the zeros go only past the leader's own cut (whole blocks, after the partial
//! last block that the next leader rewrites) and inside the allocation, under the `io` lock that
//! serializes every write of the segment, so no data byte is ever overwritten by a zero and a
//! zero write never meets a full disk. What lies past the logical end is zeros or an earlier
//! use's bytes either way, which the scanner reads as the end. A failed zero write loses
//! nothing: it is logged and zeroing stops until the allocation grows.

/// Bytes zeroed ahead at a time (1 MiB).
pub(super) const ZERO_AHEAD: u64 = 1 << 20;

/// A group that wrote this much or more does not zero ahead (256 KiB).
pub(super) const ZERO_AHEAD_MAX_CUT: u64 = 256 << 10;

/// What the `io` lock guards besides the order of writes.
#[derive(Debug, Default)]
pub(super) struct IoScratch {
    /// Running average of the cuts written, across segments ([`ZeroPlan::cut_avg`]).
    pub cut_avg: u64,
}

/// A direct segment's state for zeroing, read at a leader's cut (under `active`).
#[derive(Clone, Copy, Debug)]
pub(super) struct ZeroPlan {
    /// The file is known written (data, zeros or an earlier use) up to here.
    pub zeroed: u64,
    /// The file is allocated up to here.
    pub allocated: u64,
    /// Running average of the cuts in bytes ([`next_avg`](Self::next_avg)).
    pub cut_avg: u64,
}

impl ZeroPlan {
    /// The running average of cuts once a cut of `len` bytes is written: a larger cut raises
    /// it at once, a smaller one weighs a quarter (a few small groups after the large ones
    /// stop bring zeroing back).
    pub(super) fn next_avg(&self, len: u64) -> u64 {
        len.max(self.cut_avg.saturating_mul(3).saturating_add(len) / 4)
    }

    /// The range to zero after a cut of `[start, end)` (block-aligned `end`) was written, if
    /// the cuts are small (this one and the running average with it) and the known-written
    /// prefix reaches less than half of [`ZERO_AHEAD`] past it.
    pub(super) fn range(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let len = end.saturating_sub(start);
        if len >= ZERO_AHEAD_MAX_CUT
            || self.next_avg(len) >= ZERO_AHEAD_MAX_CUT
            || self.zeroed >= end + ZERO_AHEAD / 2
        {
            return None;
        }
        let from = self.zeroed.max(end);
        let to = (from + ZERO_AHEAD).min(self.allocated);
        (to > from).then_some((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn zeroes_past_a_small_cut_inside_the_allocation_only() {
        let p = ZeroPlan {
            zeroed: 0,
            allocated: 8 * MIB,
            cut_avg: 0,
        };
        assert_eq!(p.range(0, 16_384), Some((16_384, 16_384 + MIB)));
        // Never past the allocation.
        let p = ZeroPlan {
            zeroed: 0,
            allocated: 20_480,
            cut_avg: 0,
        };
        assert_eq!(p.range(0, 16_384), Some((16_384, 20_480)));
        assert_eq!(p.range(0, 20_480), None);
    }

    #[test]
    fn a_prefix_far_enough_ahead_or_a_large_cut_zeroes_nothing() {
        let p = ZeroPlan {
            zeroed: 2 * MIB,
            allocated: 8 * MIB,
            cut_avg: 4096,
        };
        assert_eq!(p.range(MIB, MIB + 4096), None);
        // Within half a step of the end: the next step starts where the prefix ends.
        assert_eq!(
            p.range(MIB + MIB / 2, MIB + MIB / 2 + 8192),
            Some((2 * MIB, 3 * MIB))
        );
        let q = ZeroPlan {
            zeroed: 0,
            allocated: 8 * MIB,
            cut_avg: 0,
        };
        assert_eq!(q.range(0, ZERO_AHEAD_MAX_CUT), None);
    }

    #[test]
    fn small_cuts_among_large_ones_zero_nothing_until_the_large_ones_stop() {
        let mut p = ZeroPlan {
            zeroed: 0,
            allocated: 64 * MIB,
            cut_avg: 0,
        };
        // A stream of 1 MiB puts with a 40 KiB take commit after each: no zeros.
        let mut at = 0;
        for _ in 0..8 {
            for len in [MIB, 40 << 10] {
                assert_eq!(p.range(at, at + len), None, "cut at {at} of {len}");
                p.cut_avg = p.next_avg(len);
                at += len;
                p.zeroed = at;
            }
        }
        // The large ones stop: within a few small cuts the average falls and zeroing resumes.
        let mut zeroed_after = None;
        for i in 0..8 {
            if p.range(at, at + 16_384).is_some() {
                zeroed_after = Some(i);
                break;
            }
            p.cut_avg = p.next_avg(16_384);
            at += 16_384;
            p.zeroed = at;
        }
        assert!(
            matches!(zeroed_after, Some(1..=6)),
            "zeroing resumed after {zeroed_after:?} small cuts"
        );
    }
}
