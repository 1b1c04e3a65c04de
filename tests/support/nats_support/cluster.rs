//! The servers themselves: a 3-node cluster (`n1`..`n3`, client and route ports chosen once so
//! a restarted node comes back where it was), one node or all of them killed with SIGKILL and
//! started again, and single servers for the bad-input tests. nats-py (`helper.py`) makes
//! streams, names their leaders and reads them back.

use super::{nats_server, python, START_WAIT, TOOL_WAIT};
use crate::support::ports::free_port;
use crate::support::server_proc::{clean_at_exit, run_bounded, spawn_server, stop_server, text};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const HELPER: &str = include_str!("helper.py");

/// One server of the cluster.
struct Node {
    name: String,
    client_port: u16,
    route_port: u16,
    child: Mutex<Option<Child>>,
}

/// The 3-node cluster of a test binary.
pub struct Cluster {
    pub dir: PathBuf,
    nodes: Vec<Node>,
}

/// One message read back from a stream.
#[derive(Clone, Debug)]
pub struct Stored {
    pub seq: u64,
    pub subject: String,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub data: String,
}

impl Stored {
    /// Header `k`, if the message has it.
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.as_str())
    }
}

fn distinct_ports(n: usize) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    while out.len() < n {
        let p = free_port();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

impl Cluster {
    pub(super) fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("sluice-nats-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        clean_at_exit(&dir);
        std::fs::write(dir.join("helper.py"), HELPER).unwrap();
        let ports = distinct_ports(6);
        let nodes = (0..3)
            .map(|i| Node {
                name: format!("n{}", i + 1),
                client_port: ports[i],
                route_port: ports[i + 3],
                child: Mutex::new(None),
            })
            .collect();
        let c = Cluster { dir, nodes };
        for n in &c.nodes {
            c.write_conf(n);
            c.start_node(&n.name);
        }
        c.wait_ready();
        c
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    fn write_conf(&self, n: &Node) {
        let routes: Vec<String> = self
            .nodes
            .iter()
            .map(|o| format!("nats://127.0.0.1:{}", o.route_port))
            .collect();
        let conf = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{cp}\n\
             cluster {{ name: sluice-test, listen: 127.0.0.1:{rp}, routes: [{routes}] }}\n\
             jetstream {{ store_dir: \"{store}\", sync_interval: always }}\n",
            name = n.name,
            cp = n.client_port,
            rp = n.route_port,
            routes = routes.join(", "),
            store = self.dir.join(&n.name).display()
        );
        std::fs::write(self.dir.join(format!("{}.conf", n.name)), conf).unwrap();
    }

    /// Every client URL, comma-separated (the sink's `url`).
    pub fn url(&self) -> String {
        let urls: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .collect();
        urls.join(",")
    }

    /// Starts server `name` (after [`Cluster::kill`]); does not wait for it.
    pub fn start_node(&self, name: &str) {
        let n = self.node(name);
        let mut cmd = Command::new(nats_server());
        cmd.arg("-c")
            .arg(self.dir.join(format!("{name}.conf")))
            .stdin(Stdio::null());
        let child = spawn_server(cmd, &self.dir.join(format!("{name}.log")));
        *n.child.lock().unwrap() = Some(child);
    }

    /// Kills server `name` (SIGKILL).
    pub fn kill(&self, name: &str) {
        stop_server(&self.node(name).child);
    }

    /// Kills every server.
    pub fn kill_all(&self) {
        for n in &self.nodes {
            stop_server(&n.child);
        }
    }

    /// Starts every server that is not running and waits for JetStream.
    pub fn start_all(&self) {
        for n in &self.nodes {
            if n.child.lock().unwrap().is_none() {
                self.start_node(&n.name);
            }
        }
        self.wait_ready();
    }

    /// Waits until JetStream answers through the cluster.
    pub fn wait_ready(&self) {
        let end = Instant::now() + START_WAIT;
        loop {
            let out = self.py(&["ready"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < end,
                "NATS cluster not ready after {START_WAIT:?}: {}\n{}",
                text(&out),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The servers' logs.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let log = std::fs::read_to_string(self.dir.join(format!("{}.log", n.name)));
                let log = log.unwrap_or_default();
                let tail = &log[log.len().saturating_sub(3000)..];
                format!("--- {} ---\n{tail}\n", n.name)
            })
            .collect()
    }

    /// Runs the nats-py helper against the cluster (bounded by [`TOOL_WAIT`]).
    pub fn py(&self, args: &[&str]) -> Output {
        py(&self.dir, &self.url(), args)
    }

    /// The helper's stdout, or a panic with its error text.
    pub fn py_ok(&self, args: &[&str]) -> String {
        let out = self.py(args);
        assert!(out.status.success(), "helper {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates an R3 file stream over `subjects` with atomic batches allowed and a
    /// `dup_s`-second duplicate window (retried while the cluster elects its leaders).
    pub fn create_stream(&self, name: &str, subjects: &[&str], dup_s: f64) {
        let subjects = serde_json::to_string(subjects).unwrap();
        let dup = dup_s.to_string();
        let end = Instant::now() + START_WAIT;
        loop {
            let out = self.py(&["create", name, &subjects, &dup]);
            if out.status.success() {
                return;
            }
            assert!(Instant::now() < end, "create {name}: {}", text(&out));
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The server that leads stream `name` now (`n1`..`n3`), once one does.
    pub fn leader(&self, name: &str) -> String {
        let end = Instant::now() + START_WAIT;
        loop {
            let out = self.py(&["leader", name]);
            let l = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !l.is_empty() {
                return l;
            }
            assert!(Instant::now() < end, "no leader of {name}: {}", text(&out));
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Every message of stream `name` under `filter`, in stream order.
    pub fn dump(&self, name: &str, filter: &str) -> Vec<Stored> {
        let out = self.py(&["dump", name, filter]);
        assert!(out.status.success(), "dump {name}: {}", text(&out));
        parse_dump(&out.stdout)
    }

    /// [`Cluster::dump`], or `None` when the cluster does not answer (a leader election
    /// after a kill).
    pub fn try_dump(&self, name: &str, filter: &str) -> Option<Vec<Stored>> {
        let out = self.py(&["dump", name, filter]);
        out.status.success().then(|| parse_dump(&out.stdout))
    }

    /// Publishes `n` messages `line-<i>` to `subject` (each acknowledged).
    pub fn fill(&self, subject: &str, n: usize) {
        self.py_ok(&["fill", subject, &n.to_string()]);
    }
}

/// The helper's `dump` output.
fn parse_dump(stdout: &[u8]) -> Vec<Stored> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Stored {
                seq: v["seq"].as_u64().unwrap(),
                subject: v["subject"].as_str().unwrap().to_owned(),
                headers: v["headers"].as_object().cloned().unwrap_or_default(),
                data: v["data"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// Runs the helper in `dir` against `url`.
fn py(dir: &Path, url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg(dir.join("helper.py"))
        .arg(url)
        .args(args)
        .stdin(Stdio::null());
    run_bounded(&mut cmd, TOOL_WAIT)
}

/// One server of its own, for a test that needs a server unlike the cluster's.
pub struct Single {
    pub dir: PathBuf,
    pub port: u16,
    child: Mutex<Option<Child>>,
}

impl Single {
    /// A server on a free port with `extra` config (e.g. `authorization { ... }`,
    /// `jetstream { ... }`), waited for until it accepts connections.
    pub fn start(tag: &str, extra: &str) -> Single {
        Single::start_on(tag, extra, free_port())
    }

    /// [`Single::start`] on `port`.
    pub fn start_on(tag: &str, extra: &str, port: u16) -> Single {
        let dir = std::env::temp_dir().join(format!("sluice-nats-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        clean_at_exit(&dir);
        std::fs::write(dir.join("helper.py"), HELPER).unwrap();
        let extra = extra.replace("STORE", &dir.join("js").display().to_string());
        std::fs::write(
            dir.join("server.conf"),
            format!("listen: 127.0.0.1:{port}\n{extra}\n"),
        )
        .unwrap();
        let mut cmd = Command::new(nats_server());
        cmd.arg("-c")
            .arg(dir.join("server.conf"))
            .stdin(Stdio::null());
        let child = spawn_server(cmd, &dir.join("server.log"));
        let s = Single {
            dir,
            port,
            child: Mutex::new(Some(child)),
        };
        let end = Instant::now() + START_WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || std::fs::read_to_string(s.dir.join("server.log")).unwrap_or_default();
            let exited = s.child.lock().unwrap().as_mut().unwrap().try_wait();
            assert!(
                matches!(exited, Ok(None)),
                "nats-server on {port} exited: {exited:?}\n{}",
                log()
            );
            assert!(
                Instant::now() < end,
                "nats-server on {port} did not start\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The helper's stdout against this server, or a panic with its error text.
    pub fn py_ok(&self, args: &[&str]) -> String {
        let out = py(&self.dir, &self.url(), args);
        assert!(out.status.success(), "helper {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An R1 stream over `subjects` with atomic batches allowed.
    pub fn create_stream(&self, name: &str, subjects: &[&str]) {
        let subjects = serde_json::to_string(subjects).unwrap();
        self.py_ok(&["create", name, &subjects, "120", "1"]);
    }

    /// Every message of stream `name` under `filter`, in stream order.
    pub fn dump(&self, name: &str, filter: &str) -> Vec<Stored> {
        parse_dump(self.py_ok(&["dump", name, filter]).as_bytes())
    }
}

impl Drop for Single {
    fn drop(&mut self) {
        stop_server(&self.child);
    }
}
