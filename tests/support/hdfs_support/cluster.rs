//! A real HDFS for the tests: Hadoop 2.7.3's NameNode and one DataNode (the jars that
//! `.ci/install-hdfs.sh` extracts) on 127.0.0.1 in a temporary directory, formatted and
//! started once per test binary ([`cluster`]), with Hadoop's own `FsShell` as the reader
//! (`fsshell.rs`) and its configuration written by `site.rs`.
//!
//! The JVMs are servers of `server_proc`: they die with the test process however it ends, and
//! at a normal exit the directory is removed.

use super::free_port;
use super::fsshell::java;
pub use super::fsshell::{base, in_use, local_text, TOOL_WAIT};
use super::site::write_conf;
pub use crate::support::server_proc::text;
use crate::support::server_proc::{
    cache_dir, clean_at_exit, installed_or_skip, spawn_server, stop_server, Turn,
};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Where the jars are (what `.ci/install-hdfs.sh` fills).
pub const HOME_ENV: &str = "SLUICE_HADOOP_HOME";
/// Set (as `.ci/run` does) to fail instead of skipping when the jars are missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_HDFS";
/// Longest wait for the cluster to come up (JVM start, format, safe mode, registration).
pub const START_WAIT: Duration = Duration::from_secs(90);

/// The Hadoop installation: `$SLUICE_HADOOP_HOME` or `~/.cache/sluice/hadoop-2.7.3`.
pub fn hadoop_home() -> PathBuf {
    cache_dir(HOME_ENV, "hadoop-2.7.3")
}

/// Whether the cluster tests can run; `false` means skip (with a loud message), which is
/// allowed only when the jars are absent and [`REQUIRE_ENV`] is unset.
pub fn available() -> bool {
    let home = hadoop_home();
    let ok = home.join("jars/hadoop-hdfs-2.7.3.jar").is_file()
        && Command::new("java").arg("-version").output().is_ok();
    installed_or_skip(ok, REQUIRE_ENV, || {
        format!(
            "HDFS cluster tests need Java and Hadoop 2.7.3's jars in {} (run .ci/install-hdfs.sh)",
            home.display()
        )
    })
}

/// One NameNode and one DataNode.
pub struct Cluster {
    pub dir: PathBuf,
    pub conf: PathBuf,
    /// The NameNode's RPC port (the same across restarts).
    pub port: u16,
    namenode: Mutex<Option<Child>>,
    datanode: Mutex<Option<Child>>,
}

/// The cluster of this test binary, started at the first call; `None` when skipped.
pub fn cluster() -> Option<&'static Cluster> {
    static C: OnceLock<Option<Cluster>> = OnceLock::new();
    C.get_or_init(|| available().then(Cluster::start)).as_ref()
}

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("sluice-hdfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let conf = dir.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        clean_at_exit(&dir);
        let port = free_port();
        write_conf(&conf, &dir, port);
        let c = Cluster {
            dir,
            conf,
            port,
            namenode: Mutex::new(None),
            datanode: Mutex::new(None),
        };
        let out = c.tool(
            "org.apache.hadoop.hdfs.server.namenode.NameNode",
            &["-format", "-nonInteractive"],
        );
        assert!(out.status.success(), "format failed: {}", text(&out));
        c.start_namenode();
        c.start_datanode();
        c.wait_ready();
        c
    }

    /// `hdfs://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("hdfs://127.0.0.1:{}", self.port)
    }

    fn daemon(&self, class: &'static str, log: &str) -> Child {
        spawn_server(java(&self.conf, class, &[]), &self.dir.join(log))
    }

    /// Starts the NameNode (after [`Cluster::stop_namenode`]); does not wait for it.
    pub fn start_namenode(&self) {
        let c = self.daemon(
            "org.apache.hadoop.hdfs.server.namenode.NameNode",
            "namenode.log",
        );
        *self.namenode.lock().unwrap() = Some(c);
    }

    /// Kills the NameNode (SIGKILL).
    pub fn stop_namenode(&self) {
        stop_server(&self.namenode);
    }

    /// Starts the DataNode; does not wait for it to register.
    pub fn start_datanode(&self) {
        let c = self.daemon(
            "org.apache.hadoop.hdfs.server.datanode.DataNode",
            "datanode.log",
        );
        *self.datanode.lock().unwrap() = Some(c);
    }

    /// Kills the DataNode (SIGKILL).
    pub fn kill_datanode(&self) {
        stop_server(&self.datanode);
    }

    /// Starts the DataNode again and waits until the NameNode counts it live.
    pub fn restart_datanode(&self) {
        self.kill_datanode();
        self.start_datanode();
        self.wait_ready();
    }

    /// Waits until the NameNode is out of safe mode and one DataNode is live.
    pub fn wait_ready(&self) {
        let end = Instant::now() + START_WAIT;
        loop {
            let out = self.tool("org.apache.hadoop.hdfs.tools.DFSAdmin", &["-report"]);
            let t = text(&out);
            if out.status.success()
                && t.contains("Live datanodes (1)")
                && !t.contains("Safe mode is ON")
            {
                return;
            }
            assert!(
                Instant::now() < end,
                "HDFS not ready after {START_WAIT:?}: {t}\nnamenode log:\n{}\ndatanode log:\n{}",
                self.log("namenode.log"),
                self.log("datanode.log")
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A daemon's log.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// A fresh directory on the cluster for one test (`/t/NAME`).
    pub fn test_dir(&self, name: &str) -> String {
        format!("/t/{name}-{}", std::process::id())
    }
}

/// Turns on the one cluster of this binary: tests that only use it share it, a test that
/// stops one of its daemons has it alone.
static TURN: Turn = Turn::new();

/// Held by a test that uses the cluster without stopping any part of it.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.shared()
}

/// Held by a test that stops a daemon of the cluster (no other cluster test runs meanwhile).
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.exclusive()
}
