//! `capacityBytes` (Sluice): the byte bound of a file channel's directories, its size syntax
//! (`2g`, `512m`, `1048576`), the segment size it implies and the smallest bound a channel
//! can work in.
//!
//! The bound covers every file directly under the channel's directories: the segments of all
//! data directories (spares kept for recycling included), the checkpoint and its backup, and
//! the small records beside them (head, acknowledged end, deletion journal, locks). A put
//! that would take the channel past it is refused like a put at `capacity` (the event comes
//! back, the source backs off), after the channel has tried to reclaim room
//! (`channel/reclaim.rs`). Off (0) by default: see docs/channel.md, "A byte bound".

use super::{err, ConfigError, FileChannelConfig, MAX_FILE_SIZE_MIN};
use crate::checkpoint::format::ENTRY_BYTES;

/// The largest `capacityBytes` accepted (1 PiB).
pub const CAPACITY_BYTES_MAX: u64 = 1 << 50;
/// Under a byte bound, segments roll at `capacityBytes / SEGMENTS_PER_BOUND` (or
/// `maxFileSize`, if smaller): the taken events a segment keeps until it rolls and a
/// checkpoint deletes it stay a small share of the bound.
pub const SEGMENTS_PER_BOUND: u64 = 32;
/// The smallest segment a byte bound derives (1 MiB); a smaller `maxFileSize` still wins.
pub const BOUND_SEGMENT_BYTES_FLOOR: u64 = 1 << 20;
/// What a direct-I/O segment may allocate ahead of its writes (`wal::writer::direct`): one
/// such step per data directory is kept out of the bound's room.
pub const ALLOCATE_AHEAD_BYTES: u64 = 8 << 20;
/// Room kept per checkpoint copy besides its entries (positions, dependencies, ids).
const CHECKPOINT_FIXED_BYTES: u64 = 64 << 10;

/// Parses a byte size: a whole number, optionally followed by `k`, `m`, `g` or `t` (powers of
/// 1024; `kb`, `kib`, `MiB` and the like read the same), e.g. `2g`, `512m`, `1048576`.
pub fn parse_size(key: &str, v: &str) -> Result<u64, ConfigError> {
    let lower = v.trim().to_ascii_lowercase();
    let bad = || {
        err(
            key,
            format!("expected a byte size such as 1073741824, 512m or 2g, got {v:?}"),
        )
    };
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad()),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let bytes = n.checked_shl(shift).filter(|b| b >> shift == n);
    match bytes {
        Some(b) if b <= CAPACITY_BYTES_MAX => Ok(b),
        _ => Err(err(
            key,
            format!("{v} is more than the largest {CAPACITY_BYTES_MAX} bytes"),
        )),
    }
}

impl FileChannelConfig {
    /// The size at which segments roll: `maxFileSize`, or under a byte bound
    /// `capacityBytes / 32` (at least 1 MiB) when that is smaller.
    pub fn segment_bytes_max(&self) -> u64 {
        if self.capacity_bytes == 0 {
            return self.max_file_size_bytes;
        }
        let derived = (self.capacity_bytes / SEGMENTS_PER_BOUND)
            .max(BOUND_SEGMENT_BYTES_FLOOR)
            .max(MAX_FILE_SIZE_MIN);
        self.max_file_size_bytes.min(derived)
    }

    /// Bytes kept out of a byte bound's room whatever the channel holds: per data directory a
    /// direct-I/O allocation step ahead (at most a segment).
    pub fn bound_slack_bytes(&self) -> u64 {
        let per_dir = ALLOCATE_AHEAD_BYTES.min(self.segment_bytes_max());
        per_dir.saturating_mul(self.data_dirs.len() as u64)
    }

    /// The smallest `capacityBytes` this channel works in: per data directory two segments
    /// (the one being written and the oldest, partly taken) and the spares kept for
    /// recycling, one direct-I/O allocation step, and a checkpoint of one full transaction
    /// twice (the file and the new copy written beside it; four times with a backup).
    pub fn capacity_bytes_min(&self) -> u64 {
        let dirs = self.data_dirs.len() as u64;
        let segments = (2 + self.recycle_segments as u64).saturating_mul(dirs);
        let copies = if self.use_dual_checkpoints { 4 } else { 2 };
        let checkpoint = self
            .transaction_capacity
            .saturating_mul(ENTRY_BYTES as u64)
            .saturating_add(CHECKPOINT_FIXED_BYTES)
            .saturating_mul(copies);
        segments
            .saturating_mul(self.segment_bytes_max())
            .saturating_add(self.bound_slack_bytes())
            .saturating_add(checkpoint)
    }

    /// Refuses a byte bound smaller than [`FileChannelConfig::capacity_bytes_min`], naming
    /// both numbers and what to change.
    pub(super) fn validate_capacity_bytes(&self) -> Result<(), ConfigError> {
        if self.capacity_bytes == 0 {
            return Ok(());
        }
        let min = self.capacity_bytes_min();
        if self.capacity_bytes < min {
            return Err(err(
                "capacityBytes",
                format!(
                    "{} bytes is less than the {min} bytes this channel needs to work \
                     ({} data dirs x (2 + recycleSegments {}) segments of {} bytes, a \
                     direct-I/O allocation step per dir, and checkpoints of \
                     transactionCapacity {} events); raise capacityBytes or lower \
                     maxFileSize, recycleSegments or transactionCapacity",
                    self.capacity_bytes,
                    self.data_dirs.len(),
                    self.recycle_segments,
                    self.segment_bytes_max(),
                    self.transaction_capacity,
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sizes_read_as_bytes_with_binary_suffixes() {
        assert_eq!(parse_size("k", "1048576"), Ok(1 << 20));
        assert_eq!(parse_size("k", "512m"), Ok(512 << 20));
        assert_eq!(parse_size("k", "2g"), Ok(2 << 30));
        assert_eq!(parse_size("k", " 3 GiB "), Ok(3 << 30));
        assert_eq!(parse_size("k", "64KB"), Ok(64 << 10));
        assert_eq!(parse_size("k", "1t"), Ok(1 << 40));
    }

    #[test]
    fn a_size_that_is_not_one_is_refused_naming_the_key_and_the_syntax() {
        for bad in ["", "m", "1.5g", "-1g", "12x", "1 g b"] {
            let e = parse_size("capacityBytes", bad).unwrap_err();
            assert_eq!(e.key, "capacityBytes");
            assert!(e.message.contains("512m"), "{bad:?}: {}", e.message);
        }
        let e = parse_size("capacityBytes", "2000000t").unwrap_err();
        assert!(e.message.contains("largest"), "{}", e.message);
    }

    #[test]
    fn capacity_bytes_is_off_by_default_and_keeps_max_file_size() {
        let (c, _) = FileChannelConfig::from_properties(&props(&[])).unwrap();
        assert_eq!(c.capacity_bytes, 0);
        assert_eq!(c.segment_bytes_max(), c.max_file_size_bytes);
    }

    #[test]
    fn a_byte_bound_rolls_segments_at_a_thirty_second_of_it() {
        let (c, w) =
            FileChannelConfig::from_properties(&props(&[("capacityBytes", "2g")])).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.capacity_bytes, 2 << 30);
        assert_eq!(c.segment_bytes_max(), (2 << 30) / SEGMENTS_PER_BOUND);
        let (c, _) = FileChannelConfig::from_properties(&props(&[
            ("capacityBytes", "2g"),
            ("maxFileSize", "1048576"),
        ]))
        .unwrap();
        assert_eq!(c.segment_bytes_max(), 1 << 20, "a smaller maxFileSize wins");
    }

    #[test]
    fn a_byte_bound_too_small_to_work_is_refused_naming_both_numbers() {
        let e = FileChannelConfig::from_properties(&props(&[("capacityBytes", "4m")])).unwrap_err();
        assert_eq!(e.key, "capacityBytes");
        let c = FileChannelConfig {
            capacity_bytes: 4 << 20,
            ..FileChannelConfig::default()
        };
        let min = c.capacity_bytes_min();
        assert!(min > 4 << 20);
        assert!(
            e.message.contains(&(4u64 << 20).to_string()),
            "{}",
            e.message
        );
        assert!(e.message.contains(&min.to_string()), "{}", e.message);
        assert!(e.message.contains("raise capacityBytes"), "{}", e.message);
        let ok = FileChannelConfig {
            capacity_bytes: min,
            ..c
        };
        assert_eq!(ok.validate(), Ok(()));
    }
}
