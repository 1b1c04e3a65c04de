//! The `external` filter command's reaper: a process between the agent and the command that
//! ends the command's whole tree when the command ends or times out, descendants that left
//! its process group or session (`setsid`, a daemon's double fork) included.
//!
//! [`install`] hooks the spawn: in the forked child, before `exec`, the child makes itself a
//! child subreaper (`PR_SET_CHILD_SUBREAPER`) and forks again; the grandchild goes on to
//! `exec` the command (and dies with the reaper: `PR_SET_PDEATHSIG`). The middle process, the
//! reaper, closes every descriptor it inherited (so the command's pipes, and the spawn's own
//! error pipe, end with the command's tree, never with the reaper) and waits. Every orphan of
//! the tree is re-parented to the reaper, not to init, whatever session or group it moved to.
//! When the command exits, or at the deadline, the reaper SIGKILLs every child it has
//! (`/proc/thread-self/children`) until it has none left, then exits as the command did (its
//! code, or killed by its signal). The agent sees the reaper's pid as the command's.
//!
//! Where the kernel refuses a subreaper the command runs without one (its process group is
//! still killed, `external.rs`); where `/proc/thread-self/children` cannot be read the
//! reaper kills its process group, itself included.
//!
//! Everything after the fork runs in a child of a multi-threaded process: only
//! async-signal-safe calls (raw system calls), no allocation, no lock, buffers on the stack.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// How often the reaper looks whether the command ended, and between rounds of kills.
const REAP_POLL_NS: libc::c_long = 5_000_000;
/// Rounds of kills before the reaper gives up on a tree that keeps forking (each round
/// kills every child it lists; [`REAP_POLL_NS`] apart: 10 s).
const KILL_ROUNDS_MAX: u32 = 2_000;
/// The list of the reaper's children (its only thread's).
const CHILDREN: &[u8] = b"/proc/thread-self/children\0";

/// Spawns `cmd` under a reaper that kills the command `timeout` after it starts and, when
/// it ends, every descendant it left.
pub(super) fn install(cmd: &mut Command, timeout: Duration) {
    let timeout_ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
    // SAFETY: the closure runs in the forked child before `exec` and makes only
    // async-signal-safe calls (`become_reaper`).
    unsafe {
        cmd.pre_exec(move || become_reaper(timeout_ns));
    }
}

/// Now on the monotonic clock, in ns.
fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given; async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec)
}

/// In the forked child: returns `Ok` in the grandchild, which then execs the command (or
/// in the child itself when no subreaper can be had); the reaper never returns.
fn become_reaper(timeout_ns: i64) -> io::Result<()> {
    // SAFETY: prctl, getpid, fork and getppid are system calls on this process only.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
            return Ok(());
        }
        let deadline = monotonic_ns().saturating_add(timeout_ns);
        let reaper = libc::getpid();
        let command = libc::fork();
        if command < 0 {
            return Err(io::Error::last_os_error());
        }
        if command == 0 {
            // The command: it dies with its reaper (and not at all if the reaper is gone).
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            if libc::getppid() != reaper {
                libc::_exit(127);
            }
            return Ok(());
        }
        reap(command, deadline)
    }
}

/// The reaper's life: see the module header.
fn reap(command: libc::pid_t, deadline: i64) -> ! {
    default_signals();
    close_inherited();
    let mut status = None;
    while status.is_none() && monotonic_ns() < deadline {
        reap_exited(command, &mut status);
        if status.is_none() {
            pause_a_moment();
        }
    }
    let mut rounds = 0;
    loop {
        if !kill_children() {
            // No list of children: the process group goes, the reaper with it.
            // SAFETY: kill(2) of this process's own group.
            unsafe { libc::kill(0, libc::SIGKILL) };
        }
        if !reap_exited(command, &mut status) || rounds >= KILL_ROUNDS_MAX {
            break;
        }
        rounds += 1;
        pause_a_moment();
    }
    exit_as(status)
}

/// The agent's signal handlers are not the reaper's: every signal back to its default.
fn default_signals() {
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: signal(2) with SIG_DFL; async-signal-safe, an invalid number is refused.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

/// Closes every descriptor the reaper inherited.
fn close_inherited() {
    // SAFETY: close_range(2) and close(2) on this process's own descriptors.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) == 0 {
            return;
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 20) as libc::c_int
        } else {
            1024
        };
        for fd in 0..top {
            libc::close(fd);
        }
    }
}

/// Sleeps [`REAP_POLL_NS`].
fn pause_a_moment() {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: REAP_POLL_NS,
    };
    // SAFETY: nanosleep reads the timespec it is given.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// Reaps every child that exited (the command's status kept); whether any child is left.
fn reap_exited(command: libc::pid_t, status: &mut Option<libc::c_int>) -> bool {
    loop {
        let mut st: libc::c_int = 0;
        // SAFETY: waitpid(2) of this process's children, writing the status it is given.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        match pid {
            0 => return true,
            p if p == command => *status = Some(st),
            p if p > 0 => {}
            _ if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => return false,
        }
    }
}

/// SIGKILLs every child listed in [`CHILDREN`]; false when the list cannot be read.
fn kill_children() -> bool {
    // SAFETY: open(2) of a NUL-terminated constant path; read(2) into a stack buffer of the
    // length given; kill(2) of listed pids; close(2) of the descriptor opened here.
    unsafe {
        let fd = libc::open(CHILDREN.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let mut buf = [0u8; 1024];
        let mut pid: libc::pid_t = 0;
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            for &b in &buf[..n as usize] {
                if b.is_ascii_digit() {
                    pid = pid
                        .saturating_mul(10)
                        .saturating_add(libc::pid_t::from(b - b'0'));
                } else if pid > 0 {
                    libc::kill(pid, libc::SIGKILL);
                    pid = 0;
                }
            }
        }
        if pid > 0 {
            libc::kill(pid, libc::SIGKILL);
        }
        libc::close(fd);
        true
    }
}

/// Ends the reaper as the command ended: its exit code, or its signal.
fn exit_as(status: Option<libc::c_int>) -> ! {
    // SAFETY: _exit, signal, setrlimit and kill on this process only.
    unsafe {
        match status {
            Some(st) if libc::WIFEXITED(st) => libc::_exit(libc::WEXITSTATUS(st)),
            Some(st) if libc::WIFSIGNALED(st) => {
                let sig = libc::WTERMSIG(st);
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
                libc::signal(sig, libc::SIG_DFL);
                libc::kill(libc::getpid(), sig);
                libc::_exit(128 + sig)
            }
            _ => libc::_exit(127),
        }
    }
}
