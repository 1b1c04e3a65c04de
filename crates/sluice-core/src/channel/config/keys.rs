//! The file channel's keys: what each Flume key (and Sluice's own) does to a
//! [`FileChannelConfig`], its range, and the Flume keys Sluice ignores.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

/// Every key the file channel understands (besides `type`).
pub const KNOWN_KEYS: &[&str] = &[
    "checkpointDir",
    "dataDirs",
    "useDualCheckpoints",
    "backupCheckpointDir",
    "capacity",
    "capacityBytes",
    "transactionCapacity",
    "checkpointInterval",
    "checkpointOnClose",
    "maxFileSize",
    "minimumRequiredSpace",
    "keep-alive",
    "fsyncPerTransaction",
    "fsyncInterval",
    "recoveryPolicy",
    "directIo",
    "tailCacheSize",
    "groupCommitLeaders",
    "recycleSegments",
    "ackedEndRefreshInterval",
    "eventIds",
    "dedupExpiry",
    "dedupRangesPerOrigin",
    "dedupOrigins",
    "adoptFlumeChannel",
];

/// What one key does to the configuration (`k` the key, for messages; `v` its trimmed value).
type ApplyKey =
    fn(&mut FileChannelConfig, &str, &str, &mut Vec<ConfigWarning>) -> Result<(), ConfigError>;

/// Every key the file channel reads and what it does: [`KNOWN_KEYS`] (and `type`) as a table.
/// Numbers go through `apply_number`, which checks their ranges.
pub(super) const KEY_TABLE: &[(&str, ApplyKey)] = &[
    ("type", |_, _, _, _| Ok(())),
    ("checkpointDir", |c, _, v, _| {
        c.checkpoint_dir = PathBuf::from(v);
        Ok(())
    }),
    ("dataDirs", apply_data_dirs),
    ("useDualCheckpoints", |c, k, v, _| {
        c.use_dual_checkpoints = parse_bool(k, v)?;
        Ok(())
    }),
    ("backupCheckpointDir", |c, _, v, _| {
        c.backup_checkpoint_dir = Some(PathBuf::from(v));
        Ok(())
    }),
    ("checkpointOnClose", |c, k, v, _| {
        c.checkpoint_on_close = parse_bool(k, v)?;
        Ok(())
    }),
    ("fsyncPerTransaction", |c, k, v, _| {
        c.fsync_per_transaction = parse_bool(k, v)?;
        Ok(())
    }),
    ("recoveryPolicy", |c, k, v, _| {
        c.recovery_policy = RecoveryPolicy::parse(v).ok_or_else(|| {
            err(
                k,
                format!("expected tolerate-tail, strict or salvage, got {v:?}"),
            )
        })?;
        Ok(())
    }),
    ("directIo", |c, k, v, _| {
        c.direct_io = DirectIo::parse(v)
            .ok_or_else(|| err(k, format!("expected auto, true or false, got {v:?}")))?;
        Ok(())
    }),
    ("tailCacheSize", |c, k, v, _| {
        c.tail_cache_bytes = non_negative(k, parse_bytes(k, v)?, TAIL_CACHE_BYTES_MAX)?;
        Ok(())
    }),
    ("groupCommitLeaders", |c, k, v, _| {
        let n = parse_i64(k, v)?;
        if n < 1 {
            return Err(err(
                k,
                format!("must be between 1 and {LEADERS_MAX}, got {n}"),
            ));
        }
        at_most(k, n, 1, LEADERS_MAX as u64)?;
        c.group_commit_leaders = n as usize;
        Ok(())
    }),
    ("recycleSegments", |c, k, v, _| {
        let n = non_negative(k, parse_i64(k, v)?, RECYCLE_SEGMENTS_MAX)?;
        // At most RECYCLE_SEGMENTS_MAX (checked just above).
        c.recycle_segments = usize::try_from(n).unwrap_or(RECYCLE_SEGMENTS_DEFAULT);
        Ok(())
    }),
    ("ackedEndRefreshInterval", |c, k, v, _| {
        let n = parse_i64(k, v)?;
        if n < 1 {
            return Err(err(
                k,
                format!("must be between 1 and {ACKED_END_REFRESH_MS_MAX}, got {n}"),
            ));
        }
        at_most(k, n, 1, ACKED_END_REFRESH_MS_MAX)?;
        c.acked_end_refresh_ms = n as u64;
        Ok(())
    }),
    ("eventIds", |c, k, v, _| {
        c.event_ids = parse_bool(k, v)?;
        Ok(())
    }),
    ("adoptFlumeChannel", |c, k, v, _| {
        c.adopt_flume_channel = parse_bool(k, v)?;
        Ok(())
    }),
    ("dedupExpiry", |c, k, v, _| {
        c.dedup_expiry_ms = positive(k, parse_i64(k, v)?, DEDUP_EXPIRY_S_MAX)? * 1000;
        Ok(())
    }),
    ("dedupRangesPerOrigin", |c, k, v, _| {
        let n = positive(k, parse_i64(k, v)?, 1 << 16)?;
        c.dedup_limits.ranges_per_origin = usize::try_from(n).unwrap_or(1 << 16);
        Ok(())
    }),
    ("dedupOrigins", |c, k, v, _| {
        let n = positive(k, parse_i64(k, v)?, 1 << 24)?;
        c.dedup_limits.origins = usize::try_from(n).unwrap_or(1 << 24);
        Ok(())
    }),
    ("capacityBytes", |c, k, v, _| {
        c.capacity_bytes = parse_size(k, v)?;
        Ok(())
    }),
    ("capacity", apply_numeric),
    ("transactionCapacity", apply_numeric),
    ("checkpointInterval", apply_numeric),
    ("maxFileSize", apply_size),
    ("minimumRequiredSpace", apply_size),
    ("keep-alive", apply_numeric),
    ("fsyncInterval", apply_numeric),
];

/// `dataDirs`: a comma-separated list of at least one directory.
fn apply_data_dirs(
    c: &mut FileChannelConfig,
    k: &str,
    v: &str,
    _: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    let dirs: Vec<PathBuf> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        return Err(err(k, "needs at least one directory"));
    }
    c.data_dirs = dirs;
    Ok(())
}

/// A numeric key: parsed, then range-checked by `apply_number`.
fn apply_numeric(
    c: &mut FileChannelConfig,
    k: &str,
    v: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    c.apply_number(k, parse_i64(k, v)?, warnings)
}

/// A byte-valued numeric key: a whole number or a size with a suffix (`1m`, as
/// `capacityBytes`), then range-checked by `apply_number`.
fn apply_size(
    c: &mut FileChannelConfig,
    k: &str,
    v: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    c.apply_number(k, parse_bytes(k, v)?, warnings)
}

/// A byte size (`parse_size`: `1048576`, `512m`, `2g`) as the `i64` the range checks take; a
/// negative number is still read as one, so its range error names it.
fn parse_bytes(key: &str, v: &str) -> Result<i64, ConfigError> {
    if let Ok(n) = v.trim().parse::<i64>() {
        return Ok(n);
    }
    let n = parse_size(key, v)?;
    i64::try_from(n).map_err(|_| err(key, format!("{v} is too large")))
}

/// Flume keys accepted for compatibility that change nothing in Sluice.
pub const IGNORED_KEYS: &[&str] = &[
    "use-log-replay-v1",
    "use-fast-replay",
    "compressBackupCheckpoint",
];

fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(key, format!("expected true or false, got {v:?}"))),
    }
}

fn parse_i64(key: &str, v: &str) -> Result<i64, ConfigError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| err(key, format!("expected an integer, got {v:?}")))
}

/// Refuses a value above `max`, naming the range (`min` is what the caller accepts below).
fn at_most(key: &str, n: i64, min: i64, max: u64) -> Result<(), ConfigError> {
    if n > 0 && n as u64 > max {
        return Err(err(
            key,
            format!("must be between {min} and {max}, got {n}"),
        ));
    }
    Ok(())
}

/// `n`, or `floor` when `n` is below it (as Flume raises it), said in a warning naming the
/// key, the given and the used value: a clamp is never silent.
fn raised(k: &str, n: u64, floor: u64, unit: &str, warnings: &mut Vec<ConfigWarning>) -> u64 {
    if n >= floor {
        return n;
    }
    warnings.push(ConfigWarning::new(
        k,
        format!("{k}={n} is below the smallest {floor} {unit} (as in Flume); using {floor}"),
    ));
    floor
}

/// `n` when it is between 1 and `max`; else the error naming the key and the range.
fn positive(key: &str, n: i64, max: u64) -> Result<u64, ConfigError> {
    if n < 1 {
        return Err(err(key, format!("must be between 1 and {max}, got {n}")));
    }
    at_most(key, n, 1, max)?;
    Ok(n as u64)
}

/// `n` when it is between 0 and `max`; else the error naming the key and the range.
fn non_negative(key: &str, n: i64, max: u64) -> Result<u64, ConfigError> {
    if n < 0 {
        return Err(err(key, format!("must not be negative, got {n}")));
    }
    at_most(key, n, 0, max)?;
    Ok(n.unsigned_abs())
}

impl FileChannelConfig {
    /// Parses Flume file-channel properties (keys without the `<agent>.channels.<c>.` prefix).
    /// Returns the config and warnings (values replaced by defaults, ignored or unknown keys).
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> Result<(FileChannelConfig, Vec<ConfigWarning>), ConfigError> {
        let mut c = FileChannelConfig::default();
        let mut warnings = Vec::new();
        for (key, value) in props.iter().filter(|(k, _)| !k.starts_with("encryption.")) {
            c.apply_key(key.as_str(), value.trim(), &mut warnings)?;
        }
        c.encryption = EncryptionConfig::from_properties(props)?.map(Box::new);
        c.validate()?;
        Ok((c, warnings))
    }

    /// Applies one key: a row of [`KEY_TABLE`], an ignored Flume key (a warning), or an
    /// unknown key (a warning). `encryption.*` keys are read together ([`EncryptionConfig`]).
    fn apply_key(
        &mut self,
        k: &str,
        v: &str,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), ConfigError> {
        if let Some((_, apply)) = KEY_TABLE.iter().find(|(key, _)| *key == k) {
            return apply(self, k, v, warnings);
        }
        if IGNORED_KEYS.contains(&k) {
            warnings.push(ConfigWarning::new(
                k,
                format!("{k} is accepted for Flume compatibility and ignored"),
            ));
        } else {
            warnings.push(ConfigWarning::new(
                k,
                format!("unknown file channel key {k} ignored"),
            ));
        }
        Ok(())
    }

    /// Applies a numeric key `k` = `n`, checking its range (the casts below follow the checks
    /// that make them lossless: `n` is positive, or at least 0, where it is converted).
    fn apply_number(
        &mut self,
        k: &str,
        n: i64,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), ConfigError> {
        match k {
            "capacity" | "transactionCapacity" => {
                at_most(k, n, 1, CAPACITY_MAX)?;
                let field = if k == "capacity" {
                    &mut self.capacity
                } else {
                    &mut self.transaction_capacity
                };
                if n <= 0 {
                    warnings.push(ConfigWarning::new(
                        k,
                        format!("{k}={n} is not positive; using the default {field}"),
                    ));
                } else {
                    *field = n as u64;
                }
            }
            "checkpointInterval" => {
                at_most(k, n, 1, DURATION_S_MAX * 1000)?;
                if n <= 0 {
                    warnings.push(ConfigWarning::new(
                        k,
                        format!("{k}={n} is not positive; using the default 30000"),
                    ));
                } else {
                    self.checkpoint_interval_ms =
                        raised(k, n as u64, CHECKPOINT_INTERVAL_MS_FLOOR, "ms", warnings);
                }
            }
            "maxFileSize" => {
                if n < MAX_FILE_SIZE_MIN as i64 {
                    return Err(err(
                        k,
                        format!("must be at least {MAX_FILE_SIZE_MIN} bytes, got {n}"),
                    ));
                }
                self.max_file_size_bytes = n as u64;
                if self.max_file_size_bytes > MAX_FILE_SIZE_LIMIT {
                    warnings.push(ConfigWarning::new(
                        k,
                        format!(
                            "{k}={n} is above the largest {MAX_FILE_SIZE_LIMIT} bytes (as in Flume); using {MAX_FILE_SIZE_LIMIT}"
                        ),
                    ));
                    self.max_file_size_bytes = MAX_FILE_SIZE_LIMIT;
                }
            }
            _ => self.apply_bounded(k, n, warnings)?,
        }
        Ok(())
    }

    /// The numeric keys that refuse a negative value outright.
    fn apply_bounded(
        &mut self,
        k: &str,
        n: i64,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), ConfigError> {
        match k {
            "minimumRequiredSpace" => {
                let given = non_negative(k, n, MINIMUM_REQUIRED_SPACE_MAX)?;
                self.minimum_required_space_bytes =
                    raised(k, given, MINIMUM_REQUIRED_SPACE_FLOOR, "bytes", warnings);
            }
            "keep-alive" => {
                self.keep_alive = Duration::from_secs(non_negative(k, n, DURATION_S_MAX)?);
            }
            "fsyncInterval" => {
                if n <= 0 {
                    return Err(err(k, format!("must be positive, got {n}")));
                }
                at_most(k, n, 1, DURATION_S_MAX)?;
                self.fsync_interval = Duration::from_secs(n as u64);
            }
            _ => unreachable!("apply_key routes only numeric keys here, not {k}"),
        }
        Ok(())
    }
}
