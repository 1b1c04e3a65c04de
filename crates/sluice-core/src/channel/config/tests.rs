//! Tests of the file channel configuration: Flume keys, ranges, relations.

use std::collections::BTreeMap;

use super::keys::KEY_TABLE;
use super::*;

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn flume_keys_parse_into_typed_fields() {
    let (c, w) = FileChannelConfig::from_properties(&props(&[
        ("type", "file"),
        ("checkpointDir", " /c "),
        ("dataDirs", "/d1, /d2,,"),
        ("capacity", "500"),
        ("transactionCapacity", "100"),
        ("keep-alive", "1"),
        ("maxFileSize", "1000000"),
        ("minimumRequiredSpace", "5"),
        ("fsyncPerTransaction", "false"),
        ("recoveryPolicy", "salvage"),
    ]))
    .unwrap();
    // The one warning: minimumRequiredSpace = 5 is raised to its floor.
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].key, "minimumRequiredSpace");
    assert_eq!(c.checkpoint_dir, PathBuf::from("/c"));
    assert_eq!(
        c.data_dirs,
        vec![PathBuf::from("/d1"), PathBuf::from("/d2")]
    );
    assert_eq!(c.capacity, 500);
    assert_eq!(c.keep_alive, Duration::from_secs(1));
    assert_eq!(c.minimum_required_space_bytes, MINIMUM_REQUIRED_SPACE_FLOOR);
    assert!(!c.fsync_per_transaction);
    assert_eq!(c.recovery_policy, RecoveryPolicy::Salvage);
}

#[test]
fn a_flume_value_raised_to_its_floor_or_cut_to_its_limit_is_said_with_the_key_and_both_values() {
    let (c, w) = FileChannelConfig::from_properties(&props(&[
        ("checkpointInterval", "250"),
        ("minimumRequiredSpace", "1000"),
        ("maxFileSize", "3000000000"),
    ]))
    .unwrap();
    assert_eq!(c.checkpoint_interval_ms, CHECKPOINT_INTERVAL_MS_FLOOR);
    assert_eq!(c.max_file_size_bytes, MAX_FILE_SIZE_LIMIT);
    let said: Vec<(String, String)> = w.into_iter().map(|w| (w.key, w.message)).collect();
    let of = |k: &str| {
        said.iter()
            .find(|(key, _)| key == k)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no warning for {k}: {said:?}"))
    };
    assert_eq!(
        of("checkpointInterval"),
        "checkpointInterval=250 is below the smallest 1000 ms (as in Flume); using 1000"
    );
    assert!(of("minimumRequiredSpace").contains("=1000 is below the smallest 1048576 bytes"));
    assert!(of("maxFileSize").contains("using 2147483647"));
    let (_, w) =
        FileChannelConfig::from_properties(&props(&[("checkpointInterval", "1000")])).unwrap();
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn bad_values_name_the_key() {
    let e = FileChannelConfig::from_properties(&props(&[("capacity", "lots")])).unwrap_err();
    assert_eq!(e.key, "capacity");
    let e = FileChannelConfig::from_properties(&props(&[
        ("capacity", "10"),
        ("transactionCapacity", "20"),
    ]))
    .unwrap_err();
    assert_eq!(e.key, "transactionCapacity");
    let e =
        FileChannelConfig::from_properties(&props(&[("useDualCheckpoints", "true")])).unwrap_err();
    assert_eq!(e.key, "backupCheckpointDir");
}

#[test]
fn values_beyond_their_range_are_refused_naming_the_range() {
    for (k, v) in [
        ("keep-alive", "9223372036854775807"),
        ("keep-alive", "99999999999"),
        ("fsyncInterval", "86401"),
        ("checkpointInterval", "86400001"),
        ("capacity", "1000000001"),
        ("transactionCapacity", "1000000001"),
        ("minimumRequiredSpace", "1125899906842625"),
    ] {
        let e = FileChannelConfig::from_properties(&props(&[(k, v)])).unwrap_err();
        assert_eq!(e.key, k);
        assert!(e.message.contains("must be between"), "{e}");
    }
    let (c, _) = FileChannelConfig::from_properties(&props(&[("keep-alive", "86400")])).unwrap();
    assert_eq!(c.keep_alive, Duration::from_secs(DURATION_S_MAX));
}

#[test]
fn negative_sizes_and_counts_are_refused_and_their_bounds_kept() {
    for k in [
        "minimumRequiredSpace",
        "keep-alive",
        "tailCacheSize",
        "recycleSegments",
    ] {
        let e = FileChannelConfig::from_properties(&props(&[(k, "-1")])).unwrap_err();
        assert_eq!(e.key, k);
        assert!(e.message.contains("must not be negative, got -1"), "{e}");
    }
    let e =
        FileChannelConfig::from_properties(&props(&[("recycleSegments", "1000000")])).unwrap_err();
    assert!(e.message.contains("must be between 0 and"), "{e}");
    let (c, _) = FileChannelConfig::from_properties(&props(&[
        ("tailCacheSize", "0"),
        ("recycleSegments", "3"),
    ]))
    .unwrap();
    assert_eq!((c.tail_cache_bytes, c.recycle_segments), (0, 3));
}

#[test]
fn the_acked_end_refresh_interval_is_read_in_milliseconds_within_its_bounds() {
    let c = FileChannelConfig::default();
    assert_eq!(c.acked_end_refresh_ms, 1_000);
    for bad in ["0", "-5", "3600001"] {
        let e = FileChannelConfig::from_properties(&props(&[("ackedEndRefreshInterval", bad)]))
            .unwrap_err();
        assert_eq!(e.key, "ackedEndRefreshInterval");
        assert!(e.message.contains("must be between 1 and 3600000"), "{e}");
    }
    let (c, _) =
        FileChannelConfig::from_properties(&props(&[("ackedEndRefreshInterval", "250")])).unwrap();
    assert_eq!(c.acked_end_refresh_ms, 250);
}

#[test]
fn non_positive_capacity_falls_back_to_the_default_with_a_warning() {
    let (c, w) = FileChannelConfig::from_properties(&props(&[("capacity", "-1")])).unwrap();
    assert_eq!(c.capacity, 1_000_000);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key, "capacity");
    assert_eq!(
        w[0].to_string(),
        "capacity=-1 is not positive; using the default 1000000"
    );
}

#[test]
fn unknown_keys_warn_and_an_incomplete_encryption_block_is_refused() {
    let (_, w) = FileChannelConfig::from_properties(&props(&[("bogus", "1")])).unwrap();
    assert_eq!(w[0].key, "bogus");
    assert_eq!(w[0].to_string(), "unknown file channel key bogus ignored");
    let e =
        FileChannelConfig::from_properties(&props(&[("encryption.activeKey", "k")])).unwrap_err();
    assert_eq!(e.key, "encryption.cipherProvider");
    let (c, w) = FileChannelConfig::from_properties(&props(&[
        ("encryption.activeKey", "k"),
        ("encryption.cipherProvider", "AESCTRNOPADDING"),
        ("encryption.keyProvider", "JCEKSFILE"),
        ("encryption.keyProvider.keyStoreFile", "ks"),
        ("encryption.keyProvider.keyStorePasswordFile", "pw"),
        ("encryption.keyProvider.keys", "k"),
    ]))
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.encryption.unwrap().active_key, "k");
}

#[test]
fn more_data_directories_than_a_checkpoint_records_are_refused() {
    let dirs: Vec<String> = (0..=crate::checkpoint::format::DIRS_MAX)
        .map(|i| format!("/d{i}"))
        .collect();
    let e =
        FileChannelConfig::from_properties(&props(&[("dataDirs", &dirs.join(","))])).unwrap_err();
    assert_eq!(e.key, "dataDirs");
    assert!(e.message.contains("a checkpoint records"), "{}", e.message);
    let long = format!(
        "/{}",
        "x".repeat(crate::checkpoint::format::DIR_PATH_BYTES_MAX)
    );
    let e = FileChannelConfig::from_properties(&props(&[("dataDirs", &long)])).unwrap_err();
    assert!(e.message.contains("longer than"), "{}", e.message);
}

#[test]
fn group_commit_leaders_defaults_to_one_and_refuses_values_outside_one_to_four() {
    assert_eq!(FileChannelConfig::default().group_commit_leaders, 1);
    let (c, w) =
        FileChannelConfig::from_properties(&props(&[("groupCommitLeaders", "3")])).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.group_commit_leaders, 3);
    for bad in ["0", "5", "-1", "two"] {
        let e =
            FileChannelConfig::from_properties(&props(&[("groupCommitLeaders", bad)])).unwrap_err();
        assert_eq!(e.key, "groupCommitLeaders", "{bad}: {e}");
    }
}

#[test]
fn the_key_table_reads_exactly_the_known_keys_and_type() {
    let table: Vec<&str> = KEY_TABLE.iter().map(|(k, _)| *k).collect();
    let mut want: Vec<&str> = KNOWN_KEYS.to_vec();
    want.push("type");
    let (mut table_sorted, mut want_sorted) = (table.clone(), want);
    table_sorted.sort_unstable();
    want_sorted.sort_unstable();
    assert_eq!(table_sorted, want_sorted);
    table_sorted.dedup();
    assert_eq!(table_sorted.len(), table.len(), "a key twice in the table");
}
