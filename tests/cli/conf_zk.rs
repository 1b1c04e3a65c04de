//! `sluice agent -z HOSTS -p BASE` against a real ZooKeeper (Debian's `zookeeper` 3.8 jars,
//! started by the test with `java -cp` on a free loopback port, a zoo.cfg of its own and a
//! temp data dir): a missing znode and a ZooKeeper that is down are clear errors at start
//! (exit 3); the agent starts from the znode `BASE/a1`, and a change of its data is seen by
//! the watch and applied (the file_roll directory moves).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zookeeper_client as zk;

use crate::support::cli_support::{agent, free_port, send_line, wait_line_in, WAIT};

/// The jars of Debian's `zookeeper` package a standalone server needs.
const JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
    "metrics-core.jar",
    "commons-cli.jar",
];

/// A standalone ZooKeeper on loopback; killed on drop.
struct ZooKeeper {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ZooKeeper {
    fn start() -> ZooKeeper {
        let java = Path::new("/usr/share/java");
        assert!(
            java.join("zookeeper.jar").exists(),
            "no /usr/share/java/zookeeper.jar: run .ci/install-zookeeper.sh"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = dir.path().join("zoo.cfg");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(
            &cfg,
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n",
                data.display()
            ),
        )
        .unwrap();
        let cp: Vec<String> = JARS
            .iter()
            .map(|j| java.join(j).display().to_string())
            .collect();
        let child = Command::new("java")
            .arg("-cp")
            .arg(cp.join(":"))
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java");
        let mut z = ZooKeeper {
            child,
            port,
            _dir: dir,
        };
        // The port listens before the server serves sessions: wait for a session.
        let end = Instant::now() + WAIT;
        while !z.serves() {
            assert!(z.child.try_wait().unwrap().is_none(), "ZooKeeper exited");
            assert!(Instant::now() < end, "ZooKeeper did not serve a session");
            std::thread::sleep(Duration::from_millis(200));
        }
        z
    }

    /// Whether a client gets a session.
    fn serves(&self) -> bool {
        if TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return false;
        }
        let hosts = self.hosts();
        runtime().block_on(async {
            let connect = zk::Client::connector()
                .with_session_timeout(Duration::from_secs(2))
                .with_fail_eagerly()
                .connect(&hosts);
            matches!(
                tokio::time::timeout(Duration::from_secs(3), connect).await,
                Ok(Ok(_))
            )
        })
    }

    fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sets `path`'s data, creating it (and its parent) when missing.
    fn put(&self, path: &str, data: &str) {
        runtime().block_on(async {
            let c = zk::Client::connect(&self.hosts()).await.unwrap();
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            if let Some((parent, _)) = path.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
                match c.create(parent, b"", &opts).await {
                    Ok(_) | Err(zk::Error::NodeExists) => {}
                    Err(e) => panic!("create {parent}: {e}"),
                }
            }
            match c.create(path, data.as_bytes(), &opts).await {
                Ok(_) => {}
                Err(zk::Error::NodeExists) => {
                    c.set_data(path, data.as_bytes(), None).await.unwrap();
                }
                Err(e) => panic!("create {path}: {e}"),
            }
        });
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// netcat on `port` → memory → file_roll into `out`.
fn conf(port: u16, out: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}\n\
         a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.channel = c1\n"
    )
}

#[test]
fn the_agent_runs_from_its_znode_and_reloads_when_the_data_changes() {
    let z = ZooKeeper::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let hosts = z.hosts();
    let args = ["-z", &hosts, "-p", "/sluice"];
    // No znode yet: a clear error naming it.
    let mut a = agent(dir, &args, "nonode.log");
    assert_eq!(a.wait_exit(), Some(3), "{}", a.log_text());
    assert!(
        a.log_text().contains("has no znode /sluice/a1"),
        "{}",
        a.log_text()
    );
    let nc = free_port();
    z.put("/sluice/a1", &conf(nc, "out1"));
    let mut a = agent(dir, &args, "agent.log");
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    send_line(dir, nc, "one");
    wait_line_in(&mut a, &dir.join("out1"), "one");
    z.put("/sluice/a1", &conf(nc, "out2"));
    let text = a.wait_file(&log, "the new configuration was applied");
    assert!(text.contains("znode change"), "the watch asked:\n{text}");
    send_line(dir, nc, "two");
    wait_line_in(&mut a, &dir.join("out2"), "two");
    assert_eq!(a.terminate(), Some(0));
}

#[test]
fn zookeeper_down_at_start_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let hosts = format!("127.0.0.1:{}", free_port());
    let mut a = agent(tmp.path(), &["-z", &hosts], "agent.log");
    assert_eq!(a.wait_exit(), Some(3), "{}", a.log_text());
    let err = a.log_text();
    assert!(
        err.contains(&format!("cannot connect to ZooKeeper at {hosts}")),
        "{err}"
    );
}
