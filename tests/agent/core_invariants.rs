//! The core's per-event assertions are on in this package's test builds too (agent tests and
//! the `sluice` binary they run): `cargo test --release` (CI) has no debug assertions, so the
//! `sluice` package enables `sluice-core`'s `strict-asserts` feature through its
//! dev-dependency (docs/testing.md, "Per-event assertions in test builds"). The core's own
//! invariant tests are in crates/sluice-core/tests/core_invariants.rs.

#[test]
fn the_cores_hot_assertions_are_on_in_test_builds_release_included() {
    assert!(sluice_core::hot_asserts_on());
}
