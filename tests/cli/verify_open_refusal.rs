//! `sluice channel verify` on a channel the agent refuses to open (issue 87, item 9): the
//! checkpoint directory of one channel beside the data directory of another (its
//! `channel-id` replaced by another channel's, as a restore that mixed two backups leaves
//! it). Every record reads back, so the scan finds nothing, but open refuses the segments as
//! another channel's: verify must not say `sound` and exit 0; it says why open refuses and
//! exits 1, as `config check --verify-channels` does.

use std::path::Path;

use crate::support::tools_support::{generate_sound, outcome, sluice};

/// Two sound channels made the same way; the first's `channel-id` replaced by the second's.
fn mixed_channel(root: &Path) {
    generate_sound(&root.join("a"));
    generate_sound(&root.join("b"));
    let id = |c: &str| root.join(c).join("checkpoint").join("channel-id");
    assert_ne!(
        std::fs::read(id("a")).unwrap(),
        std::fs::read(id("b")).unwrap(),
        "two channels, two ids"
    );
    std::fs::copy(id("b"), id("a")).unwrap();
}

#[test]
fn verify_exits_1_with_opens_reason_on_a_channel_whose_segments_name_another_channel() {
    let tmp = tempfile::tempdir().unwrap();
    mixed_channel(tmp.path());
    let a = tmp.path().join("a");
    let (code, out, err) = outcome(&sluice(&a, "verify", &[], b""));
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!err.lines().any(|l| l == "sound"), "{err}");
    let why = err
        .lines()
        .find(|l| l.starts_with("open would refuse the channel: "))
        .unwrap_or_else(|| panic!("no reason:\n{err}"));
    assert!(err.contains("NOT SOUND"), "{err}");
    // The reason is the open's own: the agent's start says the same.
    let (code, _, quiet_err) = outcome(&sluice(&a, "verify", &["--quiet"], b""));
    assert_eq!(code, 1);
    assert!(
        quiet_err.contains(why),
        "--quiet still says why:\n{quiet_err}"
    );
}
