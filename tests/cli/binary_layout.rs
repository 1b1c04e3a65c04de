//! The functions an agent runs are laid out together in the binary (build.rs passes
//! `build/hot-symbols.txt`, made by `benches/hot_symbols.py`, to LLD's
//! `--symbol-ordering-file`): a running agent's code is then a few MiB of `.text` rather than
//! 64 KiB fault-around windows spread over all of it (docs/performance.md, "Memory").

use std::collections::HashMap;
use std::process::Command;

/// The binary's function symbols and their addresses, as `nm` lists them.
fn functions(bin: &str) -> HashMap<String, u64> {
    let out = Command::new("nm")
        .args(["--defined-only", bin])
        .output()
        .expect("nm (binutils) runs");
    assert!(out.status.success(), "nm {bin}: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ' ');
            let (addr, kind, name) = (p.next()?, p.next()?, p.next()?);
            if !matches!(kind, "t" | "T" | "w" | "W") {
                return None;
            }
            Some((name.to_owned(), u64::from_str_radix(addr, 16).ok()?))
        })
        .collect()
}

#[test]
fn the_functions_an_agent_runs_are_laid_out_together() {
    // build.rs orders them only where rustc links with its own LLD.
    if !cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    )) || std::env::var_os("SLUICE_NO_SYMBOL_ORDER").is_some()
    {
        return;
    }
    let list = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("build/hot-symbols.txt");
    let hot = std::fs::read_to_string(&list).unwrap();
    let all = functions(env!("CARGO_BIN_EXE_sluice"));
    let mut at: Vec<u64> = hot.lines().filter_map(|n| all.get(n).copied()).collect();
    let listed = hot.lines().count();
    // The list names the functions of a `cargo build` and of a `cargo test` build (their
    // sluice-core differs by features); each has most of its half. Fewer means the names
    // changed (a dependency or the toolchain moved): regenerate the list.
    assert!(
        at.len() >= 1_500,
        "only {} of the {listed} functions in {} are in this binary: the list is stale; \
         regenerate it with `python3 benches/hot_symbols.py REL TEST DIST` (the binaries of \
         `cargo build --release`, `cargo test --release` and `--profile dist`)",
        at.len(),
        list.display()
    );
    at.sort_unstable();
    let span = at[at.len() - 1] - at[0];
    let text: u64 =
        all.values().max().copied().unwrap_or(0) - all.values().min().copied().unwrap_or(0);
    // Unordered, they spread over the whole `.text` (23 MiB of 24 in a release build); ordered,
    // over about 3 MiB.
    assert!(
        span <= 8 << 20,
        "the {} hot functions span {} KiB of the {} KiB of code: not laid out together \
         (is build.rs's --symbol-ordering-file applied?)",
        at.len(),
        span >> 10,
        text >> 10
    );
}
