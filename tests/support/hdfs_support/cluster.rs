//! A real HDFS for the tests: Hadoop 2.7.3's NameNode and one DataNode (the jars that
//! `.ci/install-hdfs.sh` extracts) on 127.0.0.1 in a temporary directory, formatted and
//! started once per test binary ([`cluster`]), with Hadoop's own `FsShell` as the reader.
//!
//! The JVMs are started by one long-lived thread with `PR_SET_PDEATHSIG`, so they die with
//! the test process however it ends; at a normal exit an `atexit` hook also kills them and
//! removes the directory (a `static` is never dropped).

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Where the jars are (what `.ci/install-hdfs.sh` fills).
pub const HOME_ENV: &str = "SLUICE_HADOOP_HOME";
/// Set (as `.ci/run` does) to fail instead of skipping when the jars are missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_HDFS";
/// Longest wait for the cluster to come up (JVM start, format, safe mode, registration).
pub const START_WAIT: Duration = Duration::from_secs(90);
/// Longest a Hadoop command-line tool may run.
pub const TOOL_WAIT: Duration = Duration::from_secs(60);

/// The Hadoop installation: `$SLUICE_HADOOP_HOME` or `~/.cache/sluice/hadoop-2.7.3`.
pub fn hadoop_home() -> PathBuf {
    if let Some(h) = std::env::var_os(HOME_ENV) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/sluice/hadoop-2.7.3")
}

/// Whether the cluster tests can run; `false` means skip (with a loud message), which is
/// allowed only when the jars are absent and [`REQUIRE_ENV`] is unset.
pub fn available() -> bool {
    let home = hadoop_home();
    let ok = home.join("jars/hadoop-hdfs-2.7.3.jar").is_file()
        && Command::new("java").arg("-version").output().is_ok();
    if ok {
        return true;
    }
    let msg = format!(
        "HDFS cluster tests need Java and Hadoop 2.7.3's jars in {} (run .ci/install-hdfs.sh)",
        home.display()
    );
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{msg}; {REQUIRE_ENV} is set"
    );
    eprintln!("\n!!!!!! SKIPPED: {msg} !!!!!!\n");
    false
}

/// `FsShell -text file://PATH` with the Hadoop jars and no cluster (a file Sluice wrote
/// elsewhere, read by Hadoop's own readers), bounded by [`TOOL_WAIT`]; `None` when the jars
/// or Java are absent (skipped, as [`available`] says).
pub fn local_text(path: &Path) -> Option<Output> {
    if !available() {
        return None;
    }
    let h = hadoop_home();
    // Hadoop's Configuration wants a core-site.xml on the classpath: an empty one, beside.
    let conf = path.with_extension("hadoop-conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("core-site.xml"), "<configuration/>\n").unwrap();
    let child = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg("-cp")
        .arg(format!(
            "{}:{}:{}/jars/*",
            conf.display(),
            h.display(),
            h.display()
        ))
        .arg("org.apache.hadoop.fs.FsShell")
        .arg("-text")
        .arg(format!("file://{}", path.display()))
        .env_remove("HADOOP_CONF_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(TOOL_WAIT).is_err() {
            // SAFETY: kill(2) on a child not reaped yet (reaped only after this is told).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    Some(out)
}

/// Pids of the JVMs running now, for the exit hook.
static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn at_exit() {
    if let Ok(pids) = PIDS.lock() {
        for p in pids.iter() {
            // SAFETY: kill(2) on pids of JVMs this process started.
            unsafe { libc::kill(*p as i32, libc::SIGKILL) };
        }
    }
    if let Some(d) = DIR.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` on the keeper thread (the parent of every JVM, alive until the process exits).
fn on_keeper<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("hdfs-keeper".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .unwrap();
        Mutex::new(tx)
    });
    let (rtx, rrx) = mpsc::channel();
    tx.lock()
        .unwrap()
        .send(Box::new(move || {
            let _ = rtx.send(f());
        }))
        .unwrap();
    rrx.recv().unwrap()
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

fn site(props: &[(&str, String)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (k, v) in props {
        s.push_str(&format!(
            "<property><name>{k}</name><value>{v}</value></property>\n"
        ));
    }
    s.push_str("</configuration>\n");
    s
}

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("sluice-hdfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let conf = dir.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let _ = DIR.set(dir.clone());
        // SAFETY: registering a plain extern "C" function with no arguments.
        unsafe { libc::atexit(at_exit) };
        let port = free_port();
        let d = dir.display();
        std::fs::write(
            conf.join("core-site.xml"),
            site(&[
                ("fs.defaultFS", format!("hdfs://127.0.0.1:{port}")),
                ("hadoop.tmp.dir", format!("{d}/tmp")),
                ("ipc.client.connect.max.retries", "2".into()),
            ]),
        )
        .unwrap();
        let any = "127.0.0.1:0".to_owned();
        std::fs::write(
            conf.join("hdfs-site.xml"),
            site(&[
                ("dfs.replication", "1".into()),
                ("dfs.permissions.enabled", "false".into()),
                (
                    "dfs.namenode.datanode.registration.ip-hostname-check",
                    "false".into(),
                ),
                ("dfs.namenode.safemode.extension", "0".into()),
                ("dfs.webhdfs.enabled", "false".into()),
                ("dfs.namenode.name.dir", format!("{d}/name")),
                ("dfs.datanode.data.dir", format!("{d}/data")),
                ("dfs.namenode.http-address", any.clone()),
                ("dfs.namenode.secondary.http-address", any.clone()),
                ("dfs.datanode.address", any.clone()),
                ("dfs.datanode.http.address", any.clone()),
                ("dfs.datanode.ipc.address", any),
                // A dead DataNode is noticed in seconds, not 10 minutes.
                ("dfs.heartbeat.interval", "1".into()),
                ("dfs.namenode.heartbeat.recheck-interval", "2000".into()),
            ]),
        )
        .unwrap();
        std::fs::write(
            conf.join("log4j.properties"),
            "log4j.rootLogger=WARN,console\n\
             log4j.appender.console=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.console.target=System.err\n\
             log4j.appender.console.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.console.layout.ConversionPattern=%d %p %c{1}: %m%n\n",
        )
        .unwrap();
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

    fn classpath(&self) -> String {
        let h = hadoop_home();
        format!(
            "{}:{}:{}/jars/*",
            self.conf.display(),
            h.display(),
            h.display()
        )
    }

    fn java(&self, class: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("java");
        cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg("-cp")
            .arg(self.classpath())
            .arg(class)
            .args(args)
            .env_remove("HADOOP_CONF_DIR")
            .stdin(Stdio::null());
        cmd
    }

    fn daemon(&self, class: &'static str, log: &str) -> Child {
        let mut cmd = self.java(class, &[]);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(log))
            .unwrap();
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        // SAFETY: prctl in the child before exec; async-signal-safe.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = on_keeper(move || cmd.spawn()).unwrap();
        PIDS.lock().unwrap().push(child.id());
        child
    }

    fn stop(slot: &Mutex<Option<Child>>) {
        if let Some(mut c) = slot.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
            PIDS.lock().unwrap().retain(|p| *p != c.id());
        }
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
        Cluster::stop(&self.namenode);
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
        Cluster::stop(&self.datanode);
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

    /// Runs a Hadoop class to its end (bounded by [`TOOL_WAIT`]).
    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        let child = self
            .java(class, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            if rx.recv_timeout(TOOL_WAIT).is_err() {
                // SAFETY: kill(2) on the pid of a child that has not been reaped yet (the
                // waiting thread reaps it only after this timer thread is told).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        });
        let out = child.wait_with_output().unwrap();
        let _ = tx.send(());
        out
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

    /// A fresh directory on the cluster for one test (`/t/NAME`).
    pub fn test_dir(&self, name: &str) -> String {
        format!("/t/{name}-{}", std::process::id())
    }
}

/// A tool's stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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

/// Turns on the one cluster of this binary: tests that only use it share it, a test that
/// stops one of its daemons has it alone.
static TURN: RwLock<()> = RwLock::new(());

/// Held by a test that uses the cluster without stopping any part of it.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that stops a daemon of the cluster (no other cluster test runs meanwhile).
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.write().unwrap_or_else(|e| e.into_inner())
}
