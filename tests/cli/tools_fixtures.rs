//! The damaged-channel fixtures under `tests/fixtures/`: the generator that rewrites them, and
//! a check that the checked-in bytes are still what it makes (so a format change is noticed).

use crate::support::tools_support;

use tools_support::*;

/// Rewrites `tests/fixtures/` from the generator. Run it after a format change:
/// `SLUICE_REGEN_FIXTURES=1 cargo test --release --test cli tools_fixtures:: -- --ignored`.
#[test]
#[ignore = "writes tests/fixtures; run by hand after a format change"]
fn regenerate_fixtures() {
    assert_eq!(std::env::var("SLUICE_REGEN_FIXTURES").as_deref(), Ok("1"));
    for name in FIXTURES {
        let dir = fixture_dir(name);
        let _ = std::fs::remove_dir_all(&dir);
        generate(name, &dir);
    }
}

/// The checked-in fixtures are segment format version 1 (record CRCs unsalted): they pin the
/// tools' output on the v1 reading path. The generator writes version 4 (CRCs salted with the
/// segment id, as version 2, and the channel's tag in the header). This turns a generated segment into the v1 bytes the same run would have
/// written: version field 1, and each record's stored CRC moved from salt `id` to salt 0.
/// CRC32 is affine in its initial value, so `crc(id, m) ^ crc(0, m)` depends only on the
/// length of `m`: the move works on damaged and torn records too, whatever their bytes.
fn as_version_1(mut bytes: Vec<u8>) -> Vec<u8> {
    use sluice_core::internals::wal::record::record_crc;
    // Version 4 differs from version 2 only in bytes 16..24 (the channel's tag where version 2
    // has the creation time), which the comparison zeroes.
    if bytes.len() < 32 || !matches!(bytes[8..12], [2, 0, 0, 0] | [4, 0, 0, 0]) {
        return bytes;
    }
    let id = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let mut pos = 32;
    while pos + 8 <= bytes.len() {
        let crc = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if crc == 0 && len == 0 {
            break;
        }
        let zeros = vec![0u8; len + 4];
        let delta = record_crc(id, &zeros) ^ record_crc(0, &zeros);
        // A torn last record (`torn_tail`: a copy of another segment's record, salted for
        // that one) has no salt to move from: its CRC is left out of the comparison.
        let moved = if pos + 8 + len > bytes.len() {
            0
        } else {
            crc ^ delta
        };
        bytes[pos..pos + 4].copy_from_slice(&moved.to_le_bytes());
        pos += len + 8;
    }
    bytes
}

/// Zeroes the CRC of a torn last record (see [`as_version_1`]), in the v1 fixture as well.
fn zero_torn_crc(bytes: &mut [u8]) {
    let mut pos = 32;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        if pos + 8 + len > bytes.len() {
            bytes[pos..pos + 4].fill(0);
            break;
        }
        pos += len + 8;
    }
}

/// The fixtures' checkpoints are version 1 (no deduplication or cursor section); the generator
/// writes version 2, whose sections (without event ids or cursors: the random own origin,
/// `own_next`, and zero counts) are cut out here, the version set to 1. Read from the layout,
/// not decoded: the corrupt fixtures' bytes do not check out. The caller zeroes the checksum.
fn checkpoint_as_version_1(bytes: Vec<u8>) -> Vec<u8> {
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    // Versions 2 and 3 differ only in a cursor's commit seq: with no cursor, only here.
    if !matches!(u32_at(8), Some(2 | 3)) {
        return bytes;
    }
    let mut at = 48;
    for _ in 0..u32_at(44).unwrap_or(0) {
        at += 4 + u32_at(at).unwrap_or(0) + 12;
    }
    at += 4 + 8 * u32_at(at).unwrap_or(0);
    // An empty section: no origins (at + 16) and no cursors (at + 20).
    if u32_at(at + 16) != Some(0) || u32_at(at + 20) != Some(0) {
        return bytes;
    }
    let mut v1 = [&bytes[..at], &bytes[at + CHECKPOINT_V2_EXTRA..]].concat();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    v1
}

/// Zeroes what differs between two runs of the generator: creation times, and the checksums
/// that cover them (segment headers; whole checkpoints).
fn normalized(path: &std::path::Path, mut bytes: Vec<u8>) -> Vec<u8> {
    let name = path.file_name().unwrap().to_string_lossy();
    if name.starts_with("log-") && bytes.len() >= 32 {
        bytes = as_version_1(bytes);
        bytes[16..24].fill(0);
        zero_torn_crc(&mut bytes);
        bytes[28..32].fill(0);
    } else if name == "checkpoint" && bytes.len() >= 28 {
        bytes = checkpoint_as_version_1(bytes);
        bytes[16..24].fill(0);
        let n = bytes.len();
        bytes[n - 4..].fill(0);
    }
    bytes
}

#[test]
fn checked_in_fixtures_are_what_the_generator_makes() {
    for name in FIXTURES {
        let tmp = tempfile::tempdir().unwrap();
        generate(name, tmp.path());
        let norm = |root: &std::path::Path| -> Vec<_> {
            snapshot(root)
                .into_iter()
                // The fixtures predate the acknowledged-end record (docs/format.md): they
                // pin the tools on channels that have none, so the generator's is left out.
                .filter(|(p, _)| !p.ends_with("acked-end"))
                // Likewise the channel-id file (docs/format.md, "Channel id").
                .filter(|(p, _)| !p.ends_with("channel-id"))
                // And the origin-home file (docs/format.md, "Origin home").
                .filter(|(p, _)| !p.ends_with("origin-home"))
                .map(|(p, b)| {
                    let b = normalized(&p, b);
                    (p, b)
                })
                .collect()
        };
        assert!(
            norm(&fixture_dir(name)) == norm(tmp.path()),
            "tests/fixtures/{name} differs from the generator's output: regenerate the fixtures \
             (see tests/fixtures/README.md) and update the expected lines"
        );
    }
}
