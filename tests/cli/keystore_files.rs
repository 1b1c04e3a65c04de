//! Keystores that are not ordinary files (issue 47, item 12): a FIFO named as the keystore
//! of an `http` or `avro` source is refused at once by `config check` (no hang on open), a
//! file larger than the keystore cap is refused naming its size (not read whole), and an
//! agent whose reload meets a FIFO keystore keeps running and still stops on SIGTERM.

use crate::support::agent_proc::Proc;
use crate::support::cli_support::{free_port, outcome};

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest `config check` or stop may take before the test calls it a hang.
const PROMPT: Duration = Duration::from_secs(10);

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/net_support/tls")
}

/// Agent `a1`: a `kind` source (`http` or `avro`) with `ssl = true` and `keystore`, memory
/// channel, logger sink.
fn conf(kind: &str, port: u16, keystore: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = {kind}\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.ssl = true\n\
         a1.sources.r1.keystore = {}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n",
        keystore.display()
    )
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo(3) on a NUL-terminated path this test owns.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Waits for `child` at most [`PROMPT`]; kills it and fails when it has not ended.
fn bounded(mut child: Child, what: &str) -> Output {
    let end = Instant::now() + PROMPT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} did not end within {PROMPT:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn config_check(dir: &Path, conf_text: &str) -> (i32, String, String) {
    let path = dir.join("a1.properties");
    std::fs::write(&path, conf_text).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    outcome(&bounded(child, "sluice config check"))
}

#[test]
fn config_check_refuses_a_fifo_keystore_at_once_naming_what_it_is() {
    for kind in ["http", "avro"] {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("keystore.pem");
        mkfifo(&fifo);
        let (code, out, err) = config_check(tmp.path(), &conf(kind, free_port(), &fifo));
        assert_ne!(code, 0, "{kind}: {out}{err}");
        let text = format!("{out}{err}");
        assert!(
            text.contains("is a FIFO, not a regular file"),
            "{kind}: {text}"
        );
        assert!(text.contains(&fifo.display().to_string()), "{kind}: {text}");
    }
}

#[test]
fn a_keystore_larger_than_the_cap_is_refused_by_its_size() {
    for kind in ["http", "avro"] {
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("keystore.pem");
        // Sparse: 64 MiB on paper, nothing on disk.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(64 << 20)
            .unwrap();
        let (code, out, err) = config_check(tmp.path(), &conf(kind, free_port(), &big));
        assert_ne!(code, 0, "{kind}: {out}{err}");
        let text = format!("{out}{err}");
        assert!(text.contains("67108864 bytes"), "{kind}: {text}");
        assert!(text.contains("1048576"), "{kind}: {text}");
    }
}

#[test]
fn sigterm_stops_an_agent_whose_reload_meets_a_fifo_keystore() {
    let tmp = tempfile::tempdir().unwrap();
    let keystore = tmp.path().join("keystore.pem");
    std::fs::copy(tls_dir().join("keystore.pem"), &keystore).unwrap();
    let path = tmp.path().join("a1.properties");
    std::fs::write(&path, conf("http", free_port(), &keystore)).unwrap();
    let mut agent = Proc::builder(tmp.path())
        .conf_file(&path)
        .log("agent.log")
        .arg("--no-reload-conf")
        .no_rust_log()
        .wait(Duration::from_secs(30))
        .spawn();
    agent.wait_log("agent started");
    std::fs::remove_file(&keystore).unwrap();
    mkfifo(&keystore);
    agent.signal(libc::SIGHUP);
    agent.wait_log("reload:");
    let text = agent.log_text();
    assert!(text.contains("is a FIFO, not a regular file"), "{text}");
    assert!(agent.alive(), "the agent keeps running");
    // SIGTERM must stop it promptly.
    agent.wait = PROMPT;
    agent.terminate();
    let text = agent.log_text();
    assert!(text.contains("agent stopped"), "{text}");
}
