//! The agent against hostile peers and bad edits, on the real binary: a netcat client that
//! never reads its replies cannot hold up SIGTERM or a reload; half-sent requests to the
//! metrics port cannot use up the descriptors under a low open-file limit; a source's
//! `maxConnections` closes excess connections; a reload whose new channel cannot open keeps
//! the running configuration.

use crate::support::agent_proc::Proc;
use crate::support::ports;
use ports::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::FromRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Generous bound for anything to happen (never a timing assertion).
const WAIT: Duration = Duration::from_secs(30);

/// `sluice agent -n a1 -f CONF EXTRA` with `RUST_LOG=info`, its log next to `conf` (reads
/// see its last 256 KiB), the open-file limit at `nofile` when given; not waited for.
fn start(conf: &Path, extra: &[&str], nofile: Option<u64>) -> Proc {
    let log = conf.with_extension("log");
    let mut b = Proc::builder(conf.parent().unwrap())
        .conf_file(conf)
        .log(log.file_name().unwrap().to_str().unwrap())
        .log_window(256 << 10)
        .args(extra)
        .wait(WAIT);
    if let Some(n) = nofile {
        b = b.nofile(n);
    }
    b.spawn()
}

/// Connects to a loopback port, giving up after 5 s.
fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5))
}

/// Sends `n` lines on a new connection and returns how many were answered `OK`.
fn send_lines(port: u16, n: usize) -> usize {
    let Ok(mut w) = connect(port) else {
        return 0;
    };
    w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(w.try_clone().unwrap());
    let text: String = (0..n).map(|i| format!("line-{i}\n")).collect();
    if w.write_all(text.as_bytes()).is_err() {
        return 0;
    }
    let mut ok = 0;
    for _ in 0..n {
        let mut answer = String::new();
        match r.read_line(&mut answer) {
            Ok(k) if k > 0 && answer == "OK\n" => ok += 1,
            _ => break,
        }
    }
    ok
}

/// Sends lines until the port answers `OK` to all of them, for up to [`WAIT`].
fn wait_ok(agent: &Proc, port: u16) {
    let end = Instant::now() + WAIT;
    while send_lines(port, 3) != 3 {
        assert!(
            Instant::now() < end,
            "port {port} does not answer OK; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client socket with a tiny receive buffer, so that unread replies back up quickly.
fn connect_small_rcvbuf(port: u16) -> TcpStream {
    // SAFETY: a fresh socket, set up and handed to TcpStream, which owns it from then on.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            &addr as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Sends short lines and never reads the replies, until the agent stops reading (its reply
/// write is blocked): a write of ours then makes no progress for two seconds.
fn flood_without_reading(port: u16) -> TcpStream {
    let mut s = connect_small_rcvbuf(port);
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let chunk = "x\n".repeat(32 * 1024);
    let mut sent = 0usize;
    loop {
        match s.write(chunk.as_bytes()) {
            Ok(n) => sent += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return s
            }
            Err(e) => panic!("writing to the agent failed after {sent} bytes: {e}"),
        }
        assert!(sent < 512 << 20, "the agent kept reading 512 MiB");
    }
}

fn netcat_memory_conf(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let conf = dir.join("a1.conf");
    std::fs::write(
        &conf,
        format!(
            "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = {port}
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
{extra}"
        ),
    )
    .unwrap();
    conf
}

#[test]
fn sigterm_finishes_while_a_client_does_not_read_its_replies() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = netcat_memory_conf(tmp.path(), port, "");
    let mut agent = start(&conf, &["--no-reload-conf"], None);
    agent.wait_port(port);
    let _stuck = flood_without_reading(port);
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}

#[test]
fn a_reload_that_restarts_a_source_with_a_non_reading_client_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = netcat_memory_conf(tmp.path(), port, "");
    let mut agent = start(&conf, &["-i", "1"], None);
    agent.wait_port(port);
    let _stuck = flood_without_reading(port);
    // A changed source key restarts r1.
    netcat_memory_conf(tmp.path(), port, "a1.sources.r1.max-line-length = 600\n");
    agent.wait_log("configuration changed; restarting changed components");
    wait_ok(&agent, port);
    agent.wait_log("the new configuration is running");
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}

fn netcat_file_conf(dir: &Path, port: u16, checkpoint: &Path, extra: &str) -> PathBuf {
    let conf = dir.join("a1.conf");
    std::fs::write(
        &conf,
        format!(
            "\
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = {port}
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {}
a1.channels.c1.dataDirs = {}
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.maxFileSize = 65536
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
{extra}",
            checkpoint.display(),
            dir.join("data").display()
        ),
    )
    .unwrap();
    conf
}

#[test]
fn a_reload_whose_checkpoint_dir_cannot_be_created_keeps_the_running_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = netcat_file_conf(tmp.path(), port, &tmp.path().join("ck"), "");
    let mut agent = start(&conf, &["-i", "1"], None);
    agent.wait_port(port);
    wait_ok(&agent, port);
    // A regular file where a directory should be: its child cannot be created.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    netcat_file_conf(tmp.path(), port, &blocker.join("ck"), "");
    agent.wait_log("applying the new configuration failed");
    assert_eq!(send_lines(port, 50), 50, "log:\n{}", agent.log_text());
    agent.wait_log("the previous configuration keeps running");
    assert!(!agent.log_text().contains("channel closed"));
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}

#[test]
fn a_reload_whose_new_channel_refuses_to_open_restores_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = netcat_file_conf(tmp.path(), port, &tmp.path().join("ck"), "");
    let mut agent = start(&conf, &["-i", "1"], None);
    agent.wait_port(port);
    wait_ok(&agent, port);
    // The new channel keeps the data dir (so the old channel must close first) and gets a
    // checkpoint dir that another process holds locked: it cannot open.
    let locked = tmp.path().join("ck-locked");
    std::fs::create_dir(&locked).unwrap();
    let lock = std::fs::File::create(locked.join(sluice_core::io::LOCK_FILE_NAME)).unwrap();
    fs2::FileExt::try_lock_exclusive(&lock).unwrap();
    netcat_file_conf(tmp.path(), port, &locked, "");
    agent.wait_log("applying the new configuration failed");
    wait_ok(&agent, port);
    // Logged once the old configuration is back, which can be after its port answers.
    agent.wait_log("the previous configuration keeps running");
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}

#[test]
fn half_sent_metrics_requests_under_a_low_open_file_limit_leave_the_channel_working() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mport = free_port();
    let conf = netcat_file_conf(tmp.path(), port, &tmp.path().join("ck"), "");
    let m = format!("-Dflume.monitoring.port={mport}");
    let mut agent = start(
        &conf,
        &["--no-reload-conf", "-Dflume.monitoring.type=http", &m],
        Some(128),
    );
    agent.wait_port(port);
    agent.wait_port(mport);
    // Twice the limit of connections, each with half a request.
    let mut held = Vec::new();
    for _ in 0..256 {
        if let Ok(mut s) = connect(mport) {
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            held.push(s);
        }
    }
    // Lines still go in (segments roll every 64 KiB: new files keep being created).
    for _ in 0..20 {
        assert_eq!(send_lines(port, 200), 200, "log:\n{}", agent.log_text());
    }
    agent.wait_log("open-file limit");
    // And a scrape still gets its answer once the half-sent requests time out or are closed.
    drop(held);
    let end = Instant::now() + WAIT;
    loop {
        if let Ok(mut s) = connect(mport) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            if body.contains("EventAcceptedCount") {
                break;
            }
        }
        assert!(
            Instant::now() < end,
            "no metrics; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}

#[test]
fn connections_beyond_max_connections_are_closed_logged_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mport = free_port();
    let conf = netcat_memory_conf(tmp.path(), port, "a1.sources.r1.maxConnections = 2\n");
    let m = format!("-Dflume.monitoring.port={mport}");
    let mut agent = start(
        &conf,
        &["--no-reload-conf", "-Dflume.monitoring.type=http", &m],
        None,
    );
    agent.wait_port(mport);
    wait_ok(&agent, port);
    // Two connections, each answered once so the agent surely holds both (a connection may
    // be refused while the agent has not yet seen the probes above close: try again).
    let mut held = Vec::new();
    let end = Instant::now() + WAIT;
    while held.len() < 2 {
        assert!(Instant::now() < end, "no slot; log:\n{}", agent.log_text());
        let mut s = connect(port).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        if s.write_all(b"hello\n").is_ok() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let _ = r.read_line(&mut answer);
        }
        if answer == "OK\n" {
            held.push(s);
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The third is closed without an answer.
    let mut third = connect(port).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = third.write_all(b"refused\n");
    let mut buf = [0u8; 16];
    match third.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the third connection closed, got {other:?}"),
    }
    agent.wait_log("too many connections");
    let mut s = connect(mport).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let refused: u64 = body
        .split("\"ConnectionRefusedCount\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(refused >= 1, "{body}");
    // A freed slot takes a new connection.
    drop(held);
    wait_ok(&agent, port);
    assert_eq!(agent.terminate(), Some(0), "log:\n{}", agent.log_text());
}
