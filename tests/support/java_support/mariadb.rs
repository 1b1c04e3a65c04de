//! A MariaDB server of a test's own: `mariadb-install-db` into a temporary directory,
//! `mariadbd` on a loopback port (killed on drop), SQL run with the `mariadb` client over
//! its socket. Debian's `mariadb-server` (`.ci/install-jvm.sh`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections.
const START_WAIT: Duration = Duration::from_secs(60);

/// A running server.
pub struct MariaDb {
    child: Child,
    /// Its unix socket.
    pub socket: PathBuf,
    /// Its loopback TCP port.
    pub port: u16,
    /// The root password set at start.
    pub password: String,
}

fn user_args() -> Vec<String> {
    // mariadbd refuses to run as root unless told to.
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        vec!["--user=root".to_owned()]
    } else {
        Vec::new()
    }
}

impl MariaDb {
    /// Installs a data directory under `dir` and starts the server with root's password.
    pub fn start(dir: &Path, password: &str) -> MariaDb {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let out = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db")
            .args(user_args())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb-install-db: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = super::free_port();
        let socket = dir.join("mysqld.sock");
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--skip-name-resolve")
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("mysqld.err").display()))
            .args(user_args())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut db = MariaDb {
            child,
            socket,
            port,
            password: String::new(),
        };
        let end = Instant::now() + START_WAIT;
        while !db.try_sql("SELECT 1") {
            assert!(
                Instant::now() < end,
                "mariadbd did not start: {}",
                std::fs::read_to_string(dir.join("mysqld.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        db.sql(&format!(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\
             ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{password}';\
             GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\
             ALTER USER 'root'@'localhost' IDENTIFIED BY '{password}';"
        ));
        db.password = password.to_owned();
        db
    }

    fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .arg("-uroot");
        if !self.password.is_empty() {
            c.arg(format!("-p{}", self.password));
        }
        c
    }

    fn try_sql(&self, sql: &str) -> bool {
        self.client()
            .arg("-e")
            .arg(sql)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Runs `sql` (statements separated by `;`), panicking on an error.
    pub fn sql(&self, sql: &str) {
        let out = self.client().arg("-e").arg(sql).output().unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
