//! A real S3 store for the tests: SeaweedFS's `weed server` (master, volume, filer and S3
//! gateway in one process, from `.ci/install-seaweedfs.sh`) on 127.0.0.1 in a temporary
//! directory, started once per test binary ([`server`]) with one SigV4 identity
//! ([`ACCESS_KEY`], [`SECRET_KEY`]); what the sink wrote is read back with Python's boto3
//! (path-style), a client independent of Sluice's.
//!
//! The server is started by one long-lived thread with `PR_SET_PDEATHSIG`, so it dies with
//! the test process however it ends; an `atexit` hook also kills it and removes the
//! directory. Every port (HTTP and gRPC) is given explicitly, and the fixed-port extras
//! (Iceberg, Lance, telemetry) are turned off.
#![allow(dead_code)]

use crate::support::ports::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Where `weed` is (what `.ci/install-seaweedfs.sh` fills).
pub const WEED_DIR_ENV: &str = "SLUICE_SEAWEEDFS_DIR";
/// Where boto3's virtualenv is.
pub const VENV_ENV: &str = "SLUICE_S3_VENV";
/// Set (as `.ci/run` does) to fail instead of skipping when SeaweedFS or boto3 is missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_S3";
/// The identity the server accepts.
pub const ACCESS_KEY: &str = "sluicetestak";
/// Its secret.
pub const SECRET_KEY: &str = "sluice-test-secret-0123456789";
/// Longest wait for the server to answer S3 requests.
pub const START_WAIT: Duration = Duration::from_secs(60);
/// Longest a boto3 script may run.
pub const TOOL_WAIT: Duration = Duration::from_secs(60);

fn cache(env: &str, default: &str) -> PathBuf {
    if let Some(d) = std::env::var_os(env) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/sluice").join(default)
}

/// The `weed` binary.
pub fn weed() -> PathBuf {
    cache(WEED_DIR_ENV, "seaweedfs").join("weed")
}

/// The virtualenv's Python (with boto3).
pub fn python() -> PathBuf {
    cache(VENV_ENV, "s3-venv").join("bin/python")
}

/// Whether the S3 tests can run; `false` means skip (with a loud message), which is allowed
/// only when SeaweedFS or boto3 is absent and [`REQUIRE_ENV`] is unset.
pub fn available() -> bool {
    let ok = weed().is_file()
        && Command::new(python())
            .args(["-c", "import boto3"])
            .output()
            .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    let msg = format!(
        "S3 tests need SeaweedFS at {} and boto3 in {} (run .ci/install-seaweedfs.sh)",
        weed().display(),
        python().display()
    );
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{msg}; {REQUIRE_ENV} is set"
    );
    eprintln!("\n!!!!!! SKIPPED: {msg} !!!!!!\n");
    false
}

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn at_exit() {
    if let Ok(pids) = PIDS.lock() {
        for p in pids.iter() {
            // SAFETY: kill(2) on the pid of a server this process started.
            unsafe { libc::kill(*p as i32, libc::SIGKILL) };
        }
    }
    if let Some(d) = DIR.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` on the keeper thread (the parent of the server, alive until the process exits).
fn on_keeper<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("s3-keeper".into())
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

/// One `weed server` with an S3 gateway.
pub struct Weed {
    pub dir: PathBuf,
    /// The S3 gateway's port (the same across restarts).
    pub s3_port: u16,
    /// master, volume, filer, s3 HTTP ports, then their gRPC ports.
    ports: [u16; 8],
    child: Mutex<Option<Child>>,
}

/// The server of this test binary, started at the first call; `None` when skipped.
pub fn server() -> Option<&'static Weed> {
    static S: OnceLock<Option<Weed>> = OnceLock::new();
    S.get_or_init(|| available().then(Weed::start)).as_ref()
}

impl Weed {
    fn start() -> Weed {
        let dir = std::env::temp_dir().join(format!("sluice-s3-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let _ = DIR.set(dir.clone());
        // SAFETY: registering a plain extern "C" function with no arguments.
        unsafe { libc::atexit(at_exit) };
        let identities = format!(
            r#"{{"identities":[{{"name":"sluice","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        std::fs::write(dir.join("s3.json"), identities).unwrap();
        let mut ports = [0u16; 8];
        for i in 0..ports.len() {
            ports[i] = loop {
                let p = free_port();
                if !ports[..i].contains(&p) {
                    break p;
                }
            };
        }
        std::fs::write(dir.join("helper.py"), HELPER).unwrap();
        let w = Weed {
            dir,
            s3_port: ports[3],
            ports,
            child: Mutex::new(None),
        };
        w.start_server();
        w.wait_ready();
        w
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Starts the server (after [`Weed::kill`]); does not wait for it.
    pub fn start_server(&self) {
        let p = self.ports;
        let mut cmd = Command::new(weed());
        cmd.arg("server")
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[4]))
            .args(["-master.telemetry=false", "-master.volumeSizeLimitMB=64"])
            .arg(format!("-volume.port={}", p[1]))
            .arg(format!("-volume.port.grpc={}", p[5]))
            .args(["-volume.max=200", "-volume.preStopSeconds=0"])
            .arg("-filer")
            .arg(format!("-filer.port={}", p[2]))
            .arg(format!("-filer.port.grpc={}", p[6]))
            .arg("-s3")
            .arg(format!("-s3.port={}", p[3]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", self.dir.join("s3.json").display()))
            .stdin(Stdio::null());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("weed.log"))
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
        *self.child.lock().unwrap() = Some(child);
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
            PIDS.lock().unwrap().retain(|p| *p != c.id());
        }
    }

    /// Starts the server again and waits until it answers.
    pub fn restart(&self) {
        self.kill();
        self.start_server();
        self.wait_ready();
    }

    /// Waits until a bucket can be created and listed (the filer and a volume are up).
    pub fn wait_ready(&self) {
        let end = Instant::now() + START_WAIT;
        loop {
            let out = self.py(&["ready", "sluice-ready"]);
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < end,
                "SeaweedFS not ready after {START_WAIT:?}: {}\nlog:\n{}",
                text(&out),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default()
    }

    /// Runs the boto3 helper with `args` (bounded by [`TOOL_WAIT`]).
    pub fn py(&self, args: &[&str]) -> Output {
        let child = Command::new(python())
            .arg(self.dir.join("helper.py"))
            .args(args)
            .env("S3_ENDPOINT", self.endpoint())
            .env("S3_ACCESS_KEY", ACCESS_KEY)
            .env("S3_SECRET_KEY", SECRET_KEY)
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
        out
    }

    /// The helper's stdout, or a panic with its error text.
    pub fn py_ok(&self, args: &[&str]) -> String {
        let out = self.py(args);
        assert!(out.status.success(), "helper {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new bucket for one test (`NAME-PID`, lowercase).
    pub fn bucket(&self, name: &str) -> String {
        let b = format!("{name}-{}", std::process::id());
        self.py_ok(&["mkbucket", &b]);
        b
    }

    /// Every object under `prefix`: key and size.
    pub fn ls(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        self.py_ok(&["ls", bucket, prefix])
            .lines()
            .filter_map(|l| {
                let (k, n) = l.rsplit_once('\t')?;
                Some((k.to_owned(), n.parse().ok()?))
            })
            .collect()
    }

    /// The lines of every object under `prefix` (`.gz` objects through Python's gzip).
    pub fn cat(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.py_ok(&["cat", bucket, prefix])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Downloads every object under `prefix` into `dir` (each a file named after its key,
    /// `/` as `_`); their paths.
    pub fn download(&self, bucket: &str, prefix: &str, dir: &Path) -> Vec<PathBuf> {
        let d = dir.display().to_string();
        self.py_ok(&["get", bucket, prefix, &d])
            .lines()
            .map(PathBuf::from)
            .collect()
    }

    /// Multipart uploads started and not completed under `prefix`.
    pub fn pending_uploads(&self, bucket: &str) -> usize {
        self.py_ok(&["uploads", bucket]).trim().parse().unwrap()
    }

    /// A Hadoop configuration directory whose core-site.xml points S3A at this server
    /// with `secret` (path-style).
    pub fn core_site(&self, dir: &Path, secret: &str) -> PathBuf {
        let conf = dir.join("hadoop-conf");
        std::fs::create_dir_all(&conf).unwrap();
        let props = [
            ("fs.s3a.endpoint", self.endpoint()),
            ("fs.s3a.access.key", ACCESS_KEY.to_owned()),
            ("fs.s3a.secret.key", secret.to_owned()),
            ("fs.s3a.path.style.access", "true".to_owned()),
            ("fs.s3a.endpoint.region", "us-east-1".to_owned()),
        ];
        let mut s = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
        for (k, v) in props {
            s.push_str(&format!(
                "  <property>\n    <name>{k}</name>\n    <value>{v}</value>\n  </property>\n"
            ));
        }
        s.push_str("</configuration>\n");
        std::fs::write(conf.join("core-site.xml"), s).unwrap();
        conf
    }
}

/// Turns on the one server of this binary: tests that only use it share it, a test that
/// kills it has it alone.
static TURN: RwLock<()> = RwLock::new(());

/// Held by a test that uses the server without stopping it.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by a test that kills the server.
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.write().unwrap_or_else(|e| e.into_inner())
}

/// A tool's stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The boto3 helper: `ready B`, `mkbucket B`, `ls B PREFIX`, `cat B PREFIX`,
/// `get B PREFIX DIR`, `uploads B`.
const HELPER: &str = r#"
import gzip, os, sys
import boto3
from botocore.config import Config

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                  connect_timeout=5, read_timeout=30),
)

def keys(bucket, prefix):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out

cmd, bucket = sys.argv[1], sys.argv[2]
if cmd in ("ready", "mkbucket"):
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    except s3.exceptions.BucketAlreadyExists:
        pass
    if cmd == "ready":
        s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
        assert s3.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
elif cmd == "ls":
    for o in keys(bucket, sys.argv[3]):
        print(f"{o['Key']}\t{o['Size']}")
elif cmd == "cat":
    for o in keys(bucket, sys.argv[3]):
        body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        if o["Key"].endswith(".gz"):
            body = gzip.decompress(body)
        sys.stdout.write(body.decode("utf-8"))
elif cmd == "get":
    for o in keys(bucket, sys.argv[3]):
        dest = os.path.join(sys.argv[4], o["Key"].replace("/", "_"))
        s3.download_file(bucket, o["Key"], dest)
        print(dest)
elif cmd == "uploads":
    print(len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])))
"#;
