//! Building Sluice's shim jar (the Flume API and the host program, from the sources embedded
//! in the binary) with the JDK's `javac` and `jar`, once per version of those sources: into
//! `<cache>/shim-<hash>/sluice-shim.jar`, where the hash is SHA-256 of the embedded sources.
//! Built in a private temporary directory and renamed into place, so concurrent agents never
//! see half a jar. Blocking: call it from the blocking pool.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the Java shim cache is on the real disk and tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::jvm::{jdk_tool, JavaError};
use super::sources::JAVA_SOURCES;

/// The jar's file name in its cache directory.
pub(crate) const JAR_NAME: &str = "sluice-shim.jar";
/// Most bytes of a compiler's output kept for an error message.
const TOOL_OUTPUT_MAX: usize = 8 << 10;

/// The first 16 hex digits of SHA-256 over every embedded source (path and text).
pub(crate) fn sources_hash() -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (path, text) in JAVA_SOURCES {
        ctx.update(&(path.len() as u64).to_le_bytes());
        ctx.update(path.as_bytes());
        ctx.update(&(text.len() as u64).to_le_bytes());
        ctx.update(text.as_bytes());
    }
    ctx.finish()
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where shim jars are cached: `SLUICE_JAVA_CACHE`, else `$XDG_CACHE_HOME/sluice/java`, else
/// `$HOME/.cache/sluice/java`, else the temporary directory's `sluice-java`.
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_JAVA_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("sluice").join("java");
    }
    if let Some(p) = std::env::var_os("HOME") {
        return PathBuf::from(p).join(".cache").join("sluice").join("java");
    }
    std::env::temp_dir().join("sluice-java")
}

/// The shim jar of this binary's sources under `root`, built first if it is not there.
pub fn ensure_jar(root: &Path) -> Result<PathBuf, JavaError> {
    let dir = root.join(format!("shim-{}", sources_hash()));
    let jar = dir.join(JAR_NAME);
    if jar.is_file() {
        return Ok(jar);
    }
    std::fs::create_dir_all(root).map_err(|e| JavaError::io("creating", root, e))?;
    let tmp = root.join(format!(
        ".build-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let built = build_into(&tmp);
    let result = built.and_then(|()| match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(()),
        // Another agent finished first: its jar is the same.
        Err(_) if jar.is_file() => Ok(()),
        Err(e) => Err(JavaError::io("renaming into", &dir, e)),
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| jar)
}

fn build_into(tmp: &Path) -> Result<(), JavaError> {
    let src = tmp.join("src");
    let classes = tmp.join("classes");
    let mut paths = Vec::with_capacity(JAVA_SOURCES.len());
    for (rel, text) in JAVA_SOURCES {
        let p = src.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| JavaError::io("creating", parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| JavaError::io("writing", &p, e))?;
        paths.push(p);
    }
    std::fs::create_dir_all(&classes).map_err(|e| JavaError::io("creating", &classes, e))?;
    let mut javac = Command::new(jdk_tool("javac"));
    javac
        .arg("-nowarn")
        .arg("-encoding")
        .arg("UTF-8")
        .arg("-d")
        .arg(&classes)
        .args(&paths);
    run_tool(javac, "javac")?;
    let mut jar = Command::new(jdk_tool("jar"));
    jar.arg("--create")
        .arg("--file")
        .arg(tmp.join(JAR_NAME))
        .arg("-C")
        .arg(&classes)
        .arg(".");
    run_tool(jar, "jar")?;
    std::fs::remove_dir_all(&src).map_err(|e| JavaError::io("removing", &src, e))?;
    std::fs::remove_dir_all(&classes).map_err(|e| JavaError::io("removing", &classes, e))
}

fn run_tool(mut cmd: Command, tool: &'static str) -> Result<(), JavaError> {
    let out = cmd.output().map_err(|e| JavaError::Tool {
        tool,
        message: format!(
            "cannot run {:?}: {e} (a JDK is needed: set JAVA_HOME)",
            cmd.get_program()
        ),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let mut cut = TOOL_OUTPUT_MAX.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    Err(JavaError::Tool {
        tool,
        message: format!("{}: {text}", out.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.java` file under `java/` is embedded, and nothing else.
    #[test]
    fn the_embedded_sources_are_every_java_file_of_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("java");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "java") {
                    let rel = p
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    on_disk.push(rel);
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = JAVA_SOURCES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_hash_names_a_directory_and_is_stable() {
        let h = sources_hash();
        assert_eq!(h.len(), 16);
        assert_eq!(h, sources_hash());
    }
}
