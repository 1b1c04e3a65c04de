//! Hadoop's own tools as the tests' reader: a JVM running one Hadoop class with the jars
//! (bounded by [`TOOL_WAIT`]), `FsShell` against the test cluster (`-cat`, `-text`, `-ls`)
//! and against a local file with no cluster ([`local_text`]).

use super::cluster::{available, hadoop_home, Cluster};
use crate::support::server_proc::{run_bounded, text};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Longest a Hadoop command-line tool may run.
pub const TOOL_WAIT: Duration = Duration::from_secs(60);

/// A small JVM running Hadoop's `class` with `args`, `conf` and the jars on its classpath.
pub fn java(conf: &Path, class: &str, args: &[&str]) -> Command {
    let h = hadoop_home();
    let mut cmd = Command::new("java");
    cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg("-cp")
        .arg(format!(
            "{}:{}:{}/jars/*",
            conf.display(),
            h.display(),
            h.display()
        ))
        .arg(class)
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .stdin(Stdio::null());
    cmd
}

/// `FsShell -text file://PATH` with the Hadoop jars and no cluster (a file Sluice wrote
/// elsewhere, read by Hadoop's own readers), bounded by [`TOOL_WAIT`]; `None` when the jars
/// or Java are absent (skipped, as [`available`] says).
pub fn local_text(path: &Path) -> Option<Output> {
    if !available() {
        return None;
    }
    // Hadoop's Configuration wants a core-site.xml on the classpath: an empty one, beside.
    let conf = path.with_extension("hadoop-conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("core-site.xml"), "<configuration/>\n").unwrap();
    let target = format!("file://{}", path.display());
    let mut cmd = java(&conf, "org.apache.hadoop.fs.FsShell", &["-text", &target]);
    Some(run_bounded(&mut cmd, TOOL_WAIT))
}

impl Cluster {
    /// Runs a Hadoop class to its end (bounded by [`TOOL_WAIT`]).
    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        run_bounded(&mut java(&self.conf, class, args), TOOL_WAIT)
    }

    /// `FsShell ARGS`: its output, or a panic with its error text.
    pub fn shell(&self, args: &[&str]) -> String {
        let out = self.tool("org.apache.hadoop.fs.FsShell", args);
        assert!(out.status.success(), "FsShell {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `FsShell -cat PATH` (globs allowed).
    pub fn cat(&self, path: &str) -> String {
        self.shell(&["-cat", path])
    }

    /// `FsShell -cat PATH` while a sink may still roll files there: `None` when a file the
    /// glob listed was renamed before it was read (try again), else as [`Cluster::cat`].
    pub fn cat_live(&self, path: &str) -> Option<String> {
        let out = self.tool("org.apache.hadoop.fs.FsShell", &["-cat", path]);
        if out.status.success() {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let t = text(&out);
        assert!(
            t.contains("File does not exist"),
            "FsShell -cat {path}: {t}"
        );
        None
    }

    /// `FsShell -text PATH`: SequenceFiles and compressed files decoded by Hadoop.
    pub fn text(&self, path: &str) -> String {
        self.shell(&["-text", path])
    }

    /// `FsShell -ls -R PATH`: every file below `path` (paths only; empty if it is absent).
    pub fn ls(&self, path: &str) -> Vec<String> {
        let out = self.tool("org.apache.hadoop.fs.FsShell", &["-ls", "-R", path]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('-'))
            .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
            .collect()
    }
}

/// Whether `p` is an in-use name (`.tmp`).
pub fn in_use(p: &str) -> bool {
    p.ends_with(".tmp")
}

/// The path's last part.
pub fn base(p: &str) -> &str {
    Path::new(p)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(p)
}
