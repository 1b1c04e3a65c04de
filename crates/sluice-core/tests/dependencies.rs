//! The core stays a storage engine: its normal dependency tree (as `cargo tree` resolves it
//! from the lock file) holds no async runtime, HTTP stack, regex engine or command-line parser,
//! and it has at most [`DIRECT_MAX`] direct dependencies (DESIGN.md lists each and why). The
//! keystore readers (`sluice-keystore`) and Flume's file-channel reader (`sluice-flume`) live in
//! crates of their own, above the core.

#![allow(
    clippy::expect_used,
    reason = "test code: a failed expect fails the test and names the line"
)]

use std::process::Command;

const FORBIDDEN: [&str; 4] = ["tokio", "hyper", "regex", "clap"];

/// The most direct (normal, non-optional) dependencies the core may have.
const DIRECT_MAX: usize = 12;

/// `cargo tree -p sluice-core -e normal` with `args`, one crate per line (`name vX.Y.Z ...`).
fn tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--manifest-path", manifest, "-p", "sluice-core"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_core_depends_on_no_async_runtime_http_stack_regex_or_cli_parser() {
    let tree = tree(&[]);
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(crates.contains(&"sluice-core"), "unexpected output: {tree}");
    assert!(crates.contains(&"crc32fast"), "unexpected output: {tree}");
    for name in FORBIDDEN {
        assert!(
            !crates
                .iter()
                .any(|c| *c == name || c.starts_with(&format!("{name}-"))),
            "sluice-core depends on {name}:\n{tree}"
        );
    }
}

#[test]
fn the_core_has_at_most_twelve_direct_dependencies_and_no_keystore_or_flume_reader() {
    let tree = tree(&["--depth", "1"]);
    let direct: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|c| !c.is_empty() && *c != "sluice-core")
        .collect();
    assert!(direct.contains(&"crc32fast"), "unexpected output: {tree}");
    assert!(
        direct.len() <= DIRECT_MAX,
        "sluice-core has {} direct dependencies, more than {DIRECT_MAX} (DESIGN.md): {direct:?}",
        direct.len()
    );
    for moved in ["pkcs12", "der", "prost", "aes", "md-5", "sha2"] {
        assert!(
            !direct.contains(&moved),
            "sluice-core depends on {moved} again: keystores are sluice-keystore's, Flume's files sluice-flume's"
        );
    }
}
