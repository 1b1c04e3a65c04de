//! The wire codecs stay pure: their normal dependency tree (as `cargo tree` resolves it from the
//! lock file) holds no async runtime, HTTP stack, kafka client or command-line parser.

use std::process::Command;

const FORBIDDEN: [&str; 5] = ["tokio", "hyper", "rdkafka", "clap", "h2"];

#[test]
fn the_wire_codecs_depend_on_no_async_runtime_http_stack_or_kafka_client() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--manifest-path", manifest, "-p", "sluice-wire"])
        .output()
        .expect("run cargo tree");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(crates.contains(&"sluice-wire"), "unexpected output: {tree}");
    assert!(crates.contains(&"bytes"), "unexpected output: {tree}");
    for name in FORBIDDEN {
        assert!(
            !crates
                .iter()
                .any(|c| *c == name || c.starts_with(&format!("{name}-"))),
            "sluice-wire depends on {name}:\n{tree}"
        );
    }
}
