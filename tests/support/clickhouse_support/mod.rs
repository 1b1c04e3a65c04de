//! Real ClickHouse for the clickhouse tests: Debian's `clickhouse-server` 18.16 (from
//! `.ci/install-clickhouse.sh`) as two replicas (`r1`, `r2`) on one ZooKeeper (Debian's 3.8
//! jars, `.ci/install-zookeeper.sh`), each a plain process with its own config, data path and
//! free loopback ports (HTTP, HTTPS with the test certificate of `net_support/tls/`, native
//! TCP, interserver), started once per test binary
//! ([`cluster`]). Tables are made and read back over ClickHouse's own HTTP interface (a plain
//! HTTP/1.0 POST here, never Sluice). The servers are servers of `server_proc`: they die with
//! the test process however it ends.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use crate::support::ports::free_port;
use crate::support::server_proc::{
    clean_at_exit, installed_or_skip, spawn_server, stop_server, Turn,
};

/// Set (as `.ci/run` does) to fail instead of skipping when ClickHouse or ZooKeeper is missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_CLICKHOUSE";
/// Longest wait for a server to answer.
pub const START_WAIT: Duration = Duration::from_secs(60);

/// The jars of Debian's `zookeeper` package a standalone server needs.
const ZK_JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
    "metrics-core.jar",
    "commons-cli.jar",
];

/// One ClickHouse server.
pub struct Server {
    pub name: String,
    pub http: u16,
    pub tcp: u16,
    /// `https_port`: TLS with `net_support/tls/keystore.pem` (`localhost`, `127.0.0.1`).
    pub https: u16,
    interserver: u16,
    child: Mutex<Option<Child>>,
}

/// The two replicas and their ZooKeeper.
pub struct Cluster {
    pub dir: PathBuf,
    pub servers: Vec<Server>,
    zk_port: u16,
    zk: Mutex<Option<Child>>,
}

/// Whether the clickhouse tests can run; `false` means skip (loudly).
pub fn available() -> bool {
    // 18.16's server has no --version; the client has.
    let ok = Command::new("clickhouse-client")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("sh")
            .args(["-c", "command -v clickhouse-server"])
            .output()
            .is_ok_and(|o| o.status.success())
        && Path::new("/usr/share/java/zookeeper.jar").exists();
    installed_or_skip(ok, REQUIRE_ENV, || {
        "clickhouse tests need clickhouse-server and ZooKeeper's jars (run .ci/install-clickhouse.sh and .ci/install-zookeeper.sh)".to_owned()
    })
}

/// The cluster of this test binary, started at the first call; `None` when skipped.
pub fn cluster() -> Option<&'static Cluster> {
    static C: OnceLock<Option<Cluster>> = OnceLock::new();
    C.get_or_init(|| available().then(Cluster::start)).as_ref()
}

static TURN: Turn = Turn::new();

/// Held by a test that uses the servers without stopping one.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.shared()
}

/// Held by a test that stops a server or ZooKeeper.
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.exclusive()
}

/// A table name unique in this run.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("sluice-ch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        clean_at_exit(&dir);
        let servers = (1..=2)
            .map(|i| Server {
                name: format!("r{i}"),
                http: free_port(),
                tcp: free_port(),
                https: free_port(),
                interserver: free_port(),
                child: Mutex::new(None),
            })
            .collect();
        let c = Cluster {
            dir,
            servers,
            zk_port: free_port(),
            zk: Mutex::new(None),
        };
        c.start_zookeeper();
        for s in &c.servers {
            c.write_conf(s);
            c.start_server(&s.name);
        }
        for s in &c.servers {
            c.wait_ready(s);
        }
        c
    }

    /// Starts ZooKeeper (after [`Cluster::stop_zookeeper`]) and waits for its port.
    pub fn start_zookeeper(&self) {
        let zdir = self.dir.join("zk");
        std::fs::create_dir_all(zdir.join("data")).unwrap();
        let cfg = zdir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=500\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n",
                zdir.join("data").display(),
                self.zk_port
            ),
        )
        .unwrap();
        let java = Path::new("/usr/share/java");
        let cp: Vec<String> = ZK_JARS
            .iter()
            .map(|j| java.join(j).display().to_string())
            .collect();
        let mut cmd = Command::new("java");
        cmd.arg("-cp")
            .arg(cp.join(":"))
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdin(Stdio::null());
        *self.zk.lock().unwrap() = Some(spawn_server(cmd, &zdir.join("zk.log")));
        let end = Instant::now() + START_WAIT;
        // The port listens before the server serves: wait for `imok`.
        while !self.zk_ok() {
            assert!(Instant::now() < end, "ZooKeeper did not answer ruok");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn zk_ok(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.zk_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut out = String::new();
        s.write_all(b"ruok").is_ok() && s.read_to_string(&mut out).is_ok() && out == "imok"
    }

    /// Kills ZooKeeper.
    pub fn stop_zookeeper(&self) {
        stop_server(&self.zk);
    }

    fn server(&self, name: &str) -> &Server {
        self.servers.iter().find(|s| s.name == name).unwrap()
    }

    fn write_conf(&self, s: &Server) {
        let d = self.dir.join(&s.name);
        std::fs::create_dir_all(d.join("log")).unwrap();
        let users = d.join("users.xml");
        std::fs::write(
            &users,
            "<?xml version=\"1.0\"?><yandex><profiles><default></default></profiles><users>\
             <default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default>\
             <writer><password>s3cret</password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></writer>\
             </users><quotas><default></default></quotas></yandex>",
        )
        .unwrap();
        let conf = format!(
            "<?xml version=\"1.0\"?><yandex>\
             <logger><level>warning</level><log>{d}/log/server.log</log><errorlog>{d}/log/err.log</errorlog><size>10M</size><count>1</count></logger>\
             <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port><interserver_http_port>{is}</interserver_http_port>\
             <https_port>{https}</https_port><openSSL><server><certificateFile>{pem}</certificateFile><privateKeyFile>{pem}</privateKeyFile>\
             <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>true</cacheSessions>\
             <disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers></server></openSSL>\
             <interserver_http_host>127.0.0.1</interserver_http_host><listen_host>127.0.0.1</listen_host>\
             <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path><user_files_path>{d}/user_files/</user_files_path>\
             <format_schema_path>{d}/format_schemas/</format_schema_path>\
             <users_config>{users}</users_config><default_profile>default</default_profile><default_database>default</default_database>\
             <mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>67108864</uncompressed_cache_size>\
             <mlock_executable>false</mlock_executable>\
             <zookeeper><node><host>127.0.0.1</host><port>{zk}</port></node><session_timeout_ms>6000</session_timeout_ms></zookeeper>\
             <macros><shard>01</shard><replica>{name}</replica></macros>\
             </yandex>",
            d = d.display(),
            http = s.http,
            tcp = s.tcp,
            https = s.https,
            pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/net_support/tls/keystore.pem"),
            is = s.interserver,
            users = users.display(),
            zk = self.zk_port,
            name = s.name,
        );
        std::fs::write(d.join("config.xml"), conf).unwrap();
    }

    /// Starts server `name` (after [`Cluster::kill`]); does not wait for it.
    pub fn start_server(&self, name: &str) {
        let s = self.server(name);
        let d = self.dir.join(name);
        let mut cmd = Command::new("clickhouse-server");
        cmd.arg(format!("--config-file={}", d.join("config.xml").display()))
            .current_dir(&d)
            .stdin(Stdio::null());
        *s.child.lock().unwrap() = Some(spawn_server(cmd, &d.join("out.log")));
    }

    /// Kills server `name` (SIGKILL).
    pub fn kill(&self, name: &str) {
        stop_server(&self.server(name).child);
    }

    /// Waits until server `s` answers a query. A server that exits while starting is started
    /// again: after a SIGKILL its replica stays "active" in ZooKeeper until the old session
    /// expires (`session_timeout_ms`), and 18.16 gives up loading a replicated table meanwhile.
    /// It is started again with the `force_restore_data` flag, as an operator would: a SIGKILL
    /// between a part written on disk and its entry in ZooKeeper leaves parts ZooKeeper does
    /// not know, and past a few of them 18.16 refuses to load the table ("doesn't look like the
    /// set of parts in ZooKeeper") at every start until the flag is there.
    pub fn wait_ready(&self, s: &Server) {
        let end = Instant::now() + START_WAIT;
        while query(s.http, "SELECT 1").is_err() {
            assert!(
                Instant::now() < end,
                "ClickHouse {} did not answer:\n{}",
                s.name,
                self.logs()
            );
            let exited = s
                .child
                .lock()
                .unwrap()
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited {
                std::thread::sleep(Duration::from_secs(1));
                let flags = self.dir.join(&s.name).join("data/flags");
                std::fs::create_dir_all(&flags).unwrap();
                std::fs::write(flags.join("force_restore_data"), b"").unwrap();
                self.start_server(&s.name);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts ZooKeeper and every server that is not running, and waits for them (a test that
    /// stops one holds a [`Restore`] that calls this however it ends).
    pub fn ensure_all(&self) {
        if self.zk.lock().unwrap().is_none() {
            self.start_zookeeper();
        }
        for s in &self.servers {
            if s.child.lock().unwrap().is_none() {
                self.start_server(&s.name);
            }
        }
        for s in &self.servers {
            self.wait_ready(s);
        }
    }

    /// Starts server `name` again and waits for it.
    pub fn restart(&self, name: &str) {
        self.kill(name);
        self.start_server(name);
        self.wait_ready(self.server(name));
    }

    /// The servers' error logs (tails).
    pub fn logs(&self) -> String {
        self.servers
            .iter()
            .map(|s| {
                let log = std::fs::read_to_string(self.dir.join(&s.name).join("log/err.log"))
                    .unwrap_or_default();
                format!(
                    "--- {} ---\n{}\n",
                    s.name,
                    &log[log.len().saturating_sub(3000)..]
                )
            })
            .collect()
    }

    /// `http://127.0.0.1:PORT` of every server, comma-separated (the sink's `url`).
    pub fn url(&self) -> String {
        let u: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("http://127.0.0.1:{}", s.http))
            .collect();
        u.join(",")
    }

    /// The first server's HTTP port.
    pub fn http(&self) -> u16 {
        self.servers[0].http
    }

    /// Creates `table` with `columns` on every replica as a ReplicatedMergeTree ordered by
    /// `sluice_id`, with `settings` (e.g. `replicated_deduplication_window = 1`).
    pub fn create_replicated(&self, table: &str, columns: &str, settings: &str) {
        let settings = if settings.is_empty() {
            String::new()
        } else {
            format!(" SETTINGS {settings}")
        };
        for s in &self.servers {
            let sql = format!(
                "CREATE TABLE default.{table} ({columns}) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{table}', '{{replica}}') ORDER BY sluice_id{settings}"
            );
            // A server's ZooKeeper session may still be on its way.
            let end = Instant::now() + START_WAIT;
            while let Err(e) = query(s.http, &sql) {
                assert!(
                    Instant::now() < end && e.contains("ZooKeeper"),
                    "{sql}: {e}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }

    /// Creates `table` on the first server as a plain MergeTree ordered by `order`.
    pub fn create_plain(&self, table: &str, columns: &str, order: &str) {
        query_ok(
            self.http(),
            &format!(
                "CREATE TABLE default.{table} ({columns}) ENGINE = MergeTree ORDER BY {order}"
            ),
        );
    }
}

/// Brings every stopped server back when dropped (a failed test leaves none down). Dropped
/// while the test unwinds from a panic, a server that does not come back is reported and the
/// panic is not raised again: a panic out of a destructor during unwinding aborts the whole
/// test binary, every other test's result with it.
pub struct Restore(pub &'static Cluster);

impl Drop for Restore {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.0.ensure_all();
            return;
        }
        let cluster = self.0;
        if std::panic::catch_unwind(|| cluster.ensure_all()).is_err() {
            eprintln!("the servers stopped by a failed test did not all come back");
        }
    }
}

/// Runs `sql` on the server at `port` over HTTP; the answer's body, or the error's.
pub fn query(port: u16, sql: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{sql}",
        sql.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let ok = text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if ok {
        Ok(body)
    } else {
        Err(format!("{}: {body}", text.lines().next().unwrap_or("")))
    }
}

/// [`query`], or a panic naming the query and the error.
pub fn query_ok(port: u16, sql: &str) -> String {
    query(port, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A number a query answers.
pub fn number(port: u16, sql: &str) -> u64 {
    query_ok(port, sql)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: not a number"))
}

/// `GET /health` on an agent's metrics port: the status code and the body.
pub fn health(port: u16) -> (u16, String) {
    crate::support::nats_support::health(port)
}
