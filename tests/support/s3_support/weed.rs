//! The SeaweedFS server itself: its directory and identity file, eight loopback ports chosen
//! once (so a restart keeps its endpoint), `weed server` started, killed and restarted, the
//! wait until it answers S3 requests, and the core-site.xml that points S3A at it.

use super::{boto, weed, ACCESS_KEY, SECRET_KEY, START_WAIT};
use crate::support::ports::free_port;
use crate::support::server_proc::{clean_at_exit, spawn_server, stop_server, text};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One `weed server` with an S3 gateway.
pub struct Weed {
    pub dir: PathBuf,
    /// The S3 gateway's port (the same across restarts).
    pub s3_port: u16,
    /// master, volume, filer, s3 HTTP ports, then their gRPC ports.
    ports: [u16; 8],
    child: Mutex<Option<Child>>,
}

impl Weed {
    pub(super) fn start() -> Weed {
        let dir = std::env::temp_dir().join(format!("sluice-s3-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        clean_at_exit(&dir);
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
        boto::write_helper(&dir);
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
        let child = spawn_server(cmd, &self.dir.join("weed.log"));
        *self.child.lock().unwrap() = Some(child);
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&self) {
        stop_server(&self.child);
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
