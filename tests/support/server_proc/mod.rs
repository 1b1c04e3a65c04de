//! The processes of the real servers the tests start (HDFS's JVMs, SeaweedFS's `weed`) and
//! of the tools that read them back, one policy for all:
//!
//! - a server is started by one long-lived keeper thread with `PR_SET_PDEATHSIG`, so it dies
//!   with the test process however it ends; at a normal exit an `atexit` hook also kills it
//!   and removes the servers' directories (a `static` is never dropped);
//! - a tool runs to its end within a time bound, SIGKILLed when it overruns;
//! - the skip rule: a test whose server is not installed skips loudly, unless the variable
//!   that requires it is set;
//! - the turn: tests that only use a binary's one server share it, a test that stops it has
//!   it alone.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Pids of the servers running now, for the exit hook.
static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The servers' directories, removed by the exit hook.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn at_exit() {
    if let Ok(pids) = PIDS.lock() {
        for p in pids.iter() {
            // SAFETY: kill(2) on pids of servers this process started.
            unsafe { libc::kill(*p as i32, libc::SIGKILL) };
        }
    }
    if let Ok(dirs) = DIRS.lock() {
        for d in dirs.iter() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Has `dir` removed at a normal exit, after every server still running is killed.
pub fn clean_at_exit(dir: &Path) {
    static HOOK: Once = Once::new();
    DIRS.lock().unwrap().push(dir.to_owned());
    // SAFETY: registering a plain extern "C" function with no arguments.
    HOOK.call_once(|| unsafe {
        libc::atexit(at_exit);
    });
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` on the keeper thread (the parent of every server, alive until the process exits).
fn on_keeper<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("server-keeper".into())
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

/// Starts `cmd` as a server from the keeper thread, its stdout and stderr appended to `log`;
/// it is SIGKILLed when the test process dies, and at exit.
pub fn spawn_server(mut cmd: Command, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
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

/// SIGKILLs the server in `slot`, if one runs, and reaps it.
pub fn stop_server(slot: &Mutex<Option<Child>>) {
    if let Some(mut c) = slot.lock().unwrap().take() {
        let _ = c.kill();
        let _ = c.wait();
        PIDS.lock().unwrap().retain(|p| *p != c.id());
    }
}

/// Runs the tool `cmd` to its end, stdout and stderr captured; SIGKILLed after `wait`.
pub fn run_bounded(cmd: &mut Command, wait: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(wait).is_err() {
            // SAFETY: kill(2) on the pid of a child that has not been reaped yet (the
            // waiting thread reaps it only after this timer thread is told).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    out
}

/// A tool's stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a server's tests can run: `installed`, or else `false` (skip, with a loud
/// message), which is allowed only when `require_env` is unset (else a panic).
pub fn installed_or_skip(installed: bool, require_env: &str, msg: impl FnOnce() -> String) -> bool {
    if installed {
        return true;
    }
    let msg = msg();
    assert!(
        std::env::var_os(require_env).is_none(),
        "{msg}; {require_env} is set"
    );
    eprintln!("\n!!!!!! SKIPPED: {msg} !!!!!!\n");
    false
}

/// `~/.cache/sluice/DEFAULT`, or the directory `env` names.
pub fn cache_dir(env: &str, default: &str) -> PathBuf {
    if let Some(d) = std::env::var_os(env) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/sluice").join(default)
}

/// Turns on the one server of a test binary: tests that only use it share it, a test that
/// stops it (or a part of it) has it alone.
pub struct Turn(RwLock<()>);

impl Turn {
    pub const fn new() -> Turn {
        Turn(RwLock::new(()))
    }

    /// Held by a test that uses the server without stopping any part of it.
    pub fn shared(&'static self) -> RwLockReadGuard<'static, ()> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Held by a test that stops the server or a part of it (no other test of it runs
    /// meanwhile).
    pub fn exclusive(&'static self) -> RwLockWriteGuard<'static, ()> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
