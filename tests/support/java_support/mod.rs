//! What the Java-plugin tests share: the shim jar (built by `sluice plugins build` into a
//! cache shared by the test binaries), plugins compiled with `javac` against it into a
//! `plugins.d` layout, the tutorial's plugin sources and configurations read from
//! `../shared/reference/` (never copied into the project), and this folder's test plugins.
#![allow(dead_code)]

pub mod mariadb;

use crate::support::ports;
pub use ports::free_port;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared reference folder (`SLUICE_SHARED/reference`, else `shared/reference` beside
/// the repository or beside one of its parents: `../shared` for the main checkout,
/// `../../shared` for a worktree under `wt/`).
pub fn reference() -> PathBuf {
    if let Some(s) = std::env::var_os("SLUICE_SHARED") {
        return PathBuf::from(s).join("reference");
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    repo.ancestors()
        .skip(1)
        .map(|a| a.join("shared/reference"))
        .find(|p| p.join("flume-plugins").is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/reference beside {} or its parents (set SLUICE_SHARED)",
                repo.display()
            )
        })
}

/// The test plugins' sources (this folder's `plugins/`).
pub fn test_plugins() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/java_support/plugins")
}

/// The shim jar cache the agents of the tests use (`SLUICE_JAVA_CACHE`).
pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-cache")
}

/// The environment every agent of these tests gets.
pub fn agent_env() -> Vec<(String, String)> {
    vec![(
        "SLUICE_JAVA_CACHE".to_owned(),
        cache().display().to_string(),
    )]
}

/// `sluice plugins build`: the shim jar's path.
pub fn shim_jar() -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["plugins", "build"])
        .env("SLUICE_JAVA_CACHE", cache())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plugins build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Every `.java` file under `dir`.
pub fn java_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "java") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Compiles `sources` against the shim (and `extra_cp`) into
/// `plugins_d/NAME/lib/NAME.jar`, with `resources` (files copied into the jar's root).
pub fn plugin(
    plugins_d: &Path,
    name: &str,
    sources: &[PathBuf],
    extra_cp: &[PathBuf],
    resources: &[PathBuf],
) {
    let shim = shim_jar();
    let work = plugins_d.join(format!(".build-{name}"));
    let classes = work.join("classes");
    std::fs::create_dir_all(&classes).unwrap();
    let mut cp = vec![shim];
    cp.extend(extra_cp.iter().cloned());
    let cp = std::env::join_paths(&cp).unwrap();
    let out = Command::new("javac")
        .arg("-nowarn")
        .args(["-encoding", "UTF-8", "-cp"])
        .arg(&cp)
        .arg("-d")
        .arg(&classes)
        .args(sources)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "javac {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for r in resources {
        std::fs::copy(r, classes.join(r.file_name().unwrap())).unwrap();
    }
    let lib = plugins_d.join(name).join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let out = Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(lib.join(format!("{name}.jar")))
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jar {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&work).unwrap();
}

/// The tutorial's agent configuration `file` (under `tutorial-configs/`), with each
/// `(from, to)` replacement applied (hosts, ports and paths only).
pub fn tutorial_config(file: &str, replace: &[(&str, &str)]) -> String {
    let mut text =
        std::fs::read_to_string(reference().join("tutorial-configs").join(file)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{file} has no {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// Starts agent `a1` on `conf` in `dir`, its plugins in `plugins_d` (`--plugins-path`), the
/// tests' shim cache, ready once `port` accepts connections (when given).
pub fn java_agent(
    dir: &Path,
    conf: &str,
    plugins_d: &Path,
    port: Option<u16>,
) -> crate::support::agent_proc::Proc {
    let mut b = crate::support::agent_proc::Proc::builder(dir)
        .name("a1")
        .conf_text(conf)
        .append_log()
        .args(["--plugins-path".to_owned(), plugins_d.display().to_string()])
        .env("SLUICE_JAVA_CACHE", &cache().display().to_string());
    if let Some(port) = port {
        b = b.ready_port(port);
    }
    b.spawn()
}
