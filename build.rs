//! Build script: records what identifies this build for `sluice_build_info`: `SLUICE_COMMIT`,
//! the commit `git rev-parse --short=12 HEAD` names (the variable set in the environment wins,
//! for builds from a tarball; neither: "unknown"), and `SLUICE_TARGET`, the target triple.

use std::process::Command;

/// The output of `git args` when it succeeds and says something.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=SLUICE_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    // A new commit changes HEAD's ref (a loose file, or packed-refs); a missing file is not
    // named, or this script would run at every build.
    let mut watched: Vec<String> = ["HEAD", "packed-refs"]
        .iter()
        .filter_map(|n| git(&["rev-parse", "--git-path", n]))
        .collect();
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(&["rev-parse", "--git-path", &r]));
    }
    for p in watched {
        if std::path::Path::new(&p).is_file() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = std::env::var("SLUICE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=SLUICE_COMMIT={}", commit.trim());
    println!("cargo:rustc-env=SLUICE_TARGET={target}");
}
