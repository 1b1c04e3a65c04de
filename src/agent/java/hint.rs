//! What to do about a plugin that cannot load a class: the missing class (from the
//! `NoClassDefFoundError` or `ClassNotFoundException` the JVM gave) and where its jar goes,
//! the `libext/` directory of the `plugins.d` entry whose jar holds the plugin's own class
//! (found by its entry name in the jars), else `plugins.d/NAME/libext/` under the directories
//! searched, or `-C/--classpath`.
#![allow(
    clippy::disallowed_methods,
    reason = "the plugins' jars are read on the real disk, tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::path::{Path, PathBuf};

use super::jvm::JavaEnv;
use super::status::missing_class;

/// Jars larger than this are not searched for the plugin's class.
const JAR_SEARCHED_MAX_BYTES: u64 = 64 << 20;

/// The advice for `error` of the plugin of class `class`, when it names a missing class.
pub(crate) fn jar_hint(error: &str, class: &str, env: &JavaEnv) -> Option<String> {
    let missing = missing_class(error)?;
    if missing == class.trim() {
        return Some(format!(
            "the plugin's own class {missing} is not on the classpath: put its jar in \
             plugins.d/NAME/lib/ (under {}) or name it with -C/--classpath",
            dirs_text(env)
        ));
    }
    let place = match plugin_dir_of(class, env) {
        Some(dir) => dir.join("libext").display().to_string() + "/",
        None => format!("plugins.d/NAME/libext/ (under {})", dirs_text(env)),
    };
    Some(format!(
        "class {missing} is missing: add the jar that holds it to {place} or name it with \
         -C/--classpath, then restart the agent"
    ))
}

/// The searched `plugins.d` directories, for messages.
fn dirs_text(env: &JavaEnv) -> String {
    if env.plugin_dirs.is_empty() {
        return "no plugins.d directory".to_owned();
    }
    env.plugin_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `plugins.d/NAME` directory whose `lib/` jar holds `class`'s entry.
fn plugin_dir_of(class: &str, env: &JavaEnv) -> Option<PathBuf> {
    let entry = format!("{}.class", class.trim().replace('.', "/"));
    for root in &env.plugin_dirs {
        for plugin in entries(root) {
            let holds = entries(&plugin.join("lib"))
                .iter()
                .any(|jar| jar_holds(jar, entry.as_bytes()));
            if holds {
                return Some(plugin);
            }
        }
    }
    None
}

/// The entries of `dir`, sorted (none when it cannot be read).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Whether `jar` (a zip: entry names are stored as they are) names `entry`.
fn jar_holds(jar: &Path, entry: &[u8]) -> bool {
    let small =
        std::fs::metadata(jar).is_ok_and(|m| m.is_file() && m.len() <= JAR_SEARCHED_MAX_BYTES);
    if !small || jar.extension().is_none_or(|x| x != "jar") {
        return false;
    }
    std::fs::read(jar).is_ok_and(|bytes| memchr::memmem::find(&bytes, entry).is_some())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::disallowed_methods,
        reason = "the test's jars on the real disk"
    )]
    use super::*;

    #[test]
    fn the_hint_names_the_libext_of_the_plugin_that_holds_the_class() {
        let d = tempfile::tempdir().unwrap();
        let lib = d.path().join("plugins.d/acme/lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("acme.jar"), b"PK..com/acme/Icpt$Builder.class..").unwrap();
        let env = JavaEnv {
            plugin_dirs: vec![d.path().join("plugins.d")],
            classpath: None,
        };
        let err =
            "configure failed: java.lang.NoClassDefFoundError: com/google/common/base/Strings";
        let hint = jar_hint(err, "com.acme.Icpt$Builder", &env).unwrap();
        assert!(hint.contains("com.google.common.base.Strings"), "{hint}");
        let want = d.path().join("plugins.d/acme/libext").display().to_string();
        assert!(hint.contains(&want), "{hint}");
        let other = jar_hint(err, "org.other.X", &env).unwrap();
        assert!(other.contains("plugins.d/NAME/libext/"), "{other}");
        assert!(jar_hint("java.lang.IllegalStateException: x", "a.B", &env).is_none());
    }
}
