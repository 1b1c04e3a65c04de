//! The damaged-channel fixtures under `tests/fixtures/`: the generator that rewrites them, and
//! a check that the checked-in bytes are still what it makes (so a format change is noticed).

mod tools_support;

use tools_support::*;

/// Rewrites `tests/fixtures/` from the generator. Run it after a format change:
/// `SLUICE_REGEN_FIXTURES=1 cargo test --release --test tools_fixtures -- --ignored`.
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

/// Zeroes what differs between two runs of the generator: creation times, and the checksums
/// that cover them (segment headers; whole checkpoints).
fn normalized(path: &std::path::Path, mut bytes: Vec<u8>) -> Vec<u8> {
    let name = path.file_name().unwrap().to_string_lossy();
    if name.starts_with("log-") && bytes.len() >= 32 {
        bytes[16..24].fill(0);
        bytes[28..32].fill(0);
    } else if name == "checkpoint" && bytes.len() >= 28 {
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
