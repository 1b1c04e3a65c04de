//! Finding and starting a JVM the way `flume-ng` does: `JAVA_HOME/bin/java` or `java` on
//! `PATH`, options from `JAVA_OPTS`, a classpath of Sluice's shim jar, `-C/--classpath`,
//! `FLUME_CLASSPATH` and every `plugins.d/NAME/lib/*.jar` and `libext/*.jar`, with each
//! `plugins.d/NAME/native` on `java.library.path`. Where plugins are looked for is the
//! process-wide [`JavaEnv`] the CLI sets before a configuration is built.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Options given to every host JVM after `JAVA_OPTS`: a plugin's OutOfMemoryError ends its
/// JVM (the agent restarts it) rather than leaving it half alive.
pub(crate) const JVM_FIXED_OPTS: &[&str] = &["-XX:+ExitOnOutOfMemoryError"];
/// Options used when `JAVA_OPTS` is not set: a modest heap and the serial collector keep one
/// plugin's JVM small (Flume's own default heap is `-Xmx20m`).
pub(crate) const JVM_DEFAULT_OPTS: &[&str] = &["-Xmx256m", "-XX:+UseSerialGC"];
/// The host program's main class (in the shim jar).
pub(crate) const HOST_MAIN: &str = "io.sluice.host.Host";

/// Something about Java went wrong.
#[derive(Debug, thiserror::Error)]
pub enum JavaError {
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A JDK tool failed.
    #[error("{tool}: {message}")]
    Tool {
        /// `javac`, `jar`, `java`.
        tool: &'static str,
        /// Its output.
        message: String,
    },
    /// The host's stream broke or held a bad frame.
    #[error("{0}")]
    Protocol(String),
    /// The plugin failed (configure, start or stop answered an error, or a fatal error).
    #[error("{0}")]
    Plugin(String),
    /// The JVM ended.
    #[error("the JVM exited ({0})")]
    Exited(String),
    /// The JVM did not answer in time.
    #[error("the JVM did not answer {0} within {1:?}")]
    Timeout(&'static str, std::time::Duration),
    /// A frame from the JVM began but did not arrive whole within the frame deadline
    /// (something in the plugin wrote to the protocol pipe, or the JVM stalled mid-frame).
    #[error(
        "{plugin}: a partial frame on the JVM's stdout: {got} of {want} bytes of its {part} \
         within {within:?} of its first byte"
    )]
    PartialFrame {
        /// The component and its class.
        plugin: String,
        /// `length prefix` or `body`.
        part: &'static str,
        /// Bytes of that part received.
        got: usize,
        /// Bytes of that part expected (the body's: the length the prefix announced).
        want: usize,
        /// The frame deadline.
        within: std::time::Duration,
    },
}

impl JavaError {
    /// An I/O error on `path`.
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        JavaError::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }
}

/// Where Java plugins are found, as the agent was started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JavaEnv {
    /// `plugins.d` directories, in order (`--plugins-path`, or next to the configuration).
    pub plugin_dirs: Vec<PathBuf>,
    /// `-C/--classpath`.
    pub classpath: Option<String>,
}

static ENV: OnceLock<JavaEnv> = OnceLock::new();

/// Sets where plugins are found (once, by the CLI, before a configuration is built).
pub fn set_env(env: JavaEnv) {
    let _ = ENV.set(env);
}

/// Where plugins are found (none set: no `plugins.d`, no `-C`).
pub(crate) fn env() -> JavaEnv {
    ENV.get().cloned().unwrap_or_default()
}

/// The `plugins.d` directories of a configuration in `conf_dir` (flume-ng's layout:
/// `FLUME_HOME/conf` beside `FLUME_HOME/plugins.d`; also `conf/plugins.d`), or the
/// `--plugins-path` list (`:`-separated) when given.
pub fn plugin_dirs(conf_dir: &Path, plugins_path: Option<&str>) -> Vec<PathBuf> {
    match plugins_path {
        Some(list) => list
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => {
            let mut v = vec![conf_dir.join("plugins.d")];
            if let Some(parent) = conf_dir.parent() {
                v.push(parent.join("plugins.d"));
            }
            v
        }
    }
}

/// A JDK tool: `JAVA_HOME/bin/NAME` when `JAVA_HOME` is set, else `NAME` on `PATH`.
pub(crate) fn jdk_tool(name: &str) -> PathBuf {
    match std::env::var_os("JAVA_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join("bin").join(name),
        _ => PathBuf::from(name),
    }
}

/// The classpath entries and native directories of `env`, in flume-ng's order after the
/// shim: `-C`, `FLUME_CLASSPATH`, then each plugin's `lib/*.jar` and `libext/*.jar`
/// (plugins and jars in name order).
pub(crate) fn classpath(env: &JavaEnv, shim: &Path) -> (Vec<OsString>, Vec<PathBuf>) {
    let mut cp: Vec<OsString> = vec![shim.as_os_str().to_owned()];
    if let Some(c) = &env.classpath {
        cp.extend(c.split(':').filter(|s| !s.is_empty()).map(OsString::from));
    }
    if let Some(c) = std::env::var_os("FLUME_CLASSPATH") {
        cp.extend(std::env::split_paths(&c).map(|p| p.into_os_string()));
    }
    let mut native = Vec::new();
    for dir in &env.plugin_dirs {
        for plugin in sorted_entries(dir) {
            for sub in ["lib", "libext"] {
                for jar in sorted_entries(&plugin.join(sub)) {
                    if jar.extension().is_some_and(|x| x == "jar") {
                        cp.push(jar.into_os_string());
                    }
                }
            }
            let n = plugin.join("native");
            if n.is_dir() {
                native.push(n);
            }
        }
    }
    (cp, native)
}

#[allow(
    clippy::disallowed_methods,
    reason = "the Java plugins' directories are listed on the real disk, tested there (DESIGN.md, the agent's std::fs rule)"
)]
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The `java` command for the host program (or `--check`): options, classpath, main class.
pub(crate) fn java_command(env: &JavaEnv, shim: &Path) -> tokio::process::Command {
    let (cp, native) = classpath(env, shim);
    let mut cmd = tokio::process::Command::new(jdk_tool("java"));
    match std::env::var("JAVA_OPTS") {
        Ok(opts) if !opts.trim().is_empty() => {
            cmd.args(opts.split_whitespace());
        }
        _ => {
            cmd.args(JVM_DEFAULT_OPTS);
        }
    }
    cmd.args(JVM_FIXED_OPTS);
    if !native.is_empty() {
        let joined = std::env::join_paths(&native).unwrap_or_default();
        let mut arg = OsString::from("-Djava.library.path=");
        arg.push(joined);
        cmd.arg(arg);
    }
    let joined = std::env::join_paths(&cp).unwrap_or_default();
    cmd.arg("-cp").arg(joined).arg(HOST_MAIN);
    cmd
}

/// A printable list of where classes are looked for (for `config check`).
pub(crate) fn searched(env: &JavaEnv, shim: &Path) -> String {
    let (cp, _) = classpath(env, shim);
    let dirs: Vec<String> = env
        .plugin_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    format!(
        "plugins.d directories [{}], classpath [{}]",
        dirs.join(", "),
        cp.iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(":")
    )
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]
mod tests {
    use super::*;

    #[test]
    fn plugin_jars_come_after_the_shim_and_the_given_classpath_in_name_order() {
        let d = std::env::temp_dir().join(format!("sluice-jvm-{}", fastrand::u64(..)));
        for p in [
            "b/lib/z.jar",
            "b/libext/y.jar",
            "a/lib/x.jar",
            "a/lib/notes.txt",
        ] {
            let p = d.join("plugins.d").join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
        }
        std::fs::create_dir_all(d.join("plugins.d/b/native")).unwrap();
        let env = JavaEnv {
            plugin_dirs: vec![d.join("plugins.d")],
            classpath: Some("/c1:/c2".into()),
        };
        let (cp, native) = classpath(&env, Path::new("/shim.jar"));
        let cp: Vec<String> = cp
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.starts_with('/') || !s.contains("FLUME"))
            .collect();
        let pd = d.join("plugins.d");
        let want_tail = [
            pd.join("a/lib/x.jar").display().to_string(),
            pd.join("b/lib/z.jar").display().to_string(),
            pd.join("b/libext/y.jar").display().to_string(),
        ];
        assert_eq!(&cp[..3], &["/shim.jar", "/c1", "/c2"]);
        assert_eq!(&cp[cp.len() - 3..], &want_tail[..]);
        assert_eq!(native, vec![pd.join("b/native")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn plugins_d_is_looked_for_in_and_beside_the_configuration_directory() {
        let dirs = plugin_dirs(Path::new("/opt/flume/conf"), None);
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/opt/flume/conf/plugins.d"),
                PathBuf::from("/opt/flume/plugins.d")
            ]
        );
        let given = plugin_dirs(Path::new("/x"), Some("/p1:/p2"));
        assert_eq!(given, vec![PathBuf::from("/p1"), PathBuf::from("/p2")]);
    }
}
