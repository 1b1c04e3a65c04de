//! The damaged-channel fixtures under `tests/fixtures/`: their generator, and the promise
//! that the read-only tools change none of them.

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
