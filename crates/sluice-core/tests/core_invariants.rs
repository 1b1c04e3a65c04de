//! The core's per-event assertions are on in every test build: `cargo test --release` (CI)
//! has no debug assertions, so the core's own tests and the `sluice` package's enable
//! `sluice-core`'s `strict-asserts` feature through their dev-dependencies (docs/testing.md,
//! "Per-event assertions in test builds").

use sluice_core::internals::wal::record::{check_event, encode_put, EVENT_HEADERS_MAX};
use sluice_core::Event;

#[test]
fn the_cores_hot_assertions_are_on_in_test_builds_release_included() {
    assert!(sluice_core::hot_asserts_on());
}

#[test]
fn encoding_an_event_the_limits_refuse_panics_instead_of_writing_it() {
    let mut ev = Event::new(Vec::new());
    for i in 0..=EVENT_HEADERS_MAX {
        ev.headers.insert(i.to_string(), String::new());
    }
    assert!(check_event(&ev).is_err());
    let panicked = std::panic::catch_unwind(|| encode_put(&mut Vec::new(), 0, 1, 1, &ev));
    assert!(
        panicked.is_err(),
        "a put past EVENT_HEADERS_MAX was encoded"
    );
}
