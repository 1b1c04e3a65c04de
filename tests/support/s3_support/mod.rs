//! A real S3 store for the tests: SeaweedFS's `weed server` (master, volume, filer and S3
//! gateway in one process, from `.ci/install-seaweedfs.sh`) on 127.0.0.1 in a temporary
//! directory, started once per test binary ([`server`], `weed.rs`) with one SigV4 identity
//! ([`ACCESS_KEY`], [`SECRET_KEY`]); what the sink wrote is read back with Python's boto3
//! (path-style, `boto.rs`), a client independent of Sluice's.
//!
//! The server is a server of `server_proc`: it dies with the test process however it ends,
//! and at a normal exit the directory is removed. Every port (HTTP and gRPC) is given
//! explicitly, and the fixed-port extras (Iceberg, Lance, telemetry) are turned off.
#![allow(dead_code)]

mod boto;
mod weed;

pub use crate::support::server_proc::text;
use crate::support::server_proc::{cache_dir, installed_or_skip, Turn};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
pub use weed::Weed;

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

/// The `weed` binary.
pub fn weed() -> PathBuf {
    cache_dir(WEED_DIR_ENV, "seaweedfs").join("weed")
}

/// The virtualenv's Python (with boto3).
pub fn python() -> PathBuf {
    cache_dir(VENV_ENV, "s3-venv").join("bin/python")
}

/// Whether the S3 tests can run; `false` means skip (with a loud message), which is allowed
/// only when SeaweedFS or boto3 is absent and [`REQUIRE_ENV`] is unset.
pub fn available() -> bool {
    let ok = weed().is_file()
        && Command::new(python())
            .args(["-c", "import boto3"])
            .output()
            .is_ok_and(|o| o.status.success());
    installed_or_skip(ok, REQUIRE_ENV, || {
        format!(
            "S3 tests need SeaweedFS at {} and boto3 in {} (run .ci/install-seaweedfs.sh)",
            weed().display(),
            python().display()
        )
    })
}

/// The server of this test binary, started at the first call; `None` when skipped.
pub fn server() -> Option<&'static Weed> {
    static S: OnceLock<Option<Weed>> = OnceLock::new();
    S.get_or_init(|| available().then(Weed::start)).as_ref()
}

/// Turns on the one server of this binary: tests that only use it share it, a test that
/// kills it has it alone.
static TURN: Turn = Turn::new();

/// Held by a test that uses the server without stopping it.
pub fn shared_turn() -> RwLockReadGuard<'static, ()> {
    TURN.shared()
}

/// Held by a test that kills the server.
pub fn exclusive_turn() -> RwLockWriteGuard<'static, ()> {
    TURN.exclusive()
}
