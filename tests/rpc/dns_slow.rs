//! Reverse DNS on its own bounded pool (issue 47, item 5), on the real binary with real slow
//! DNS: the agent runs in its own user and mount namespace (`unshare -rm`) where
//! /etc/resolv.conf names a UDP socket of this test that reads queries and never answers
//! (`timeout:30`: each `getnameinfo` waits 30 s). 800 connections from fresh loopback
//! addresses reach an avro source whose ipFilter has a `name:` rule (a reverse lookup per
//! new address) while a netcat source of the same agent feeds a file channel: the agent's
//! thread count stays within a bound (the lookups have 4 threads of their own, not tokio's
//! blocking pool, which the file channel commits through), every netcat line is
//! acknowledged and written, and the misses are counted in `RESOLVER.dns`.
//!
//! Needs `unshare -rm` (user namespaces) and a UDP bind of port 53 on 127.53.53.53 (root,
//! or `net.ipv4.ip_unprivileged_port_start` <= 53): skipped with a message naming which is
//! missing otherwise.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::agent_proc::{counter, sluice_bin};
use crate::support::hostile_support::{attack, connect_from, Peak};
use crate::support::lines_support::{lines, netcat_send, wait_for_all};
use crate::support::ports::free_port;

/// Connections from fresh addresses.
const CONNECTIONS: usize = 800;
/// Threads the agent may gain over its count before the flood (today: hundreds).
const THREADS_GAINED_MAX: u64 = 24;
/// The silent DNS server's address.
const DNS: Ipv4Addr = Ipv4Addr::new(127, 53, 53, 53);

/// The agent's threads now (`Threads:` of /proc/PID/status; 0 once it is gone).
fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A DNS server on a thread of its own that reads queries and never answers.
struct SilentDns {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl SilentDns {
    fn start(sock: UdpSocket) -> SilentDns {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let (mut buf, mut queries) = ([0u8; 2048], 0);
            while !s.load(Ordering::Relaxed) {
                if sock.recv_from(&mut buf).is_ok() {
                    queries += 1;
                }
            }
            queries
        });
        SilentDns { stop, handle }
    }

    /// Stops it; the queries it read.
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// resolv.conf naming the silent server (each lookup waits 30 s), and nsswitch.conf asking
/// /etc/hosts, then DNS, for host names.
fn write_namespace_files(root: &Path) {
    std::fs::write(
        root.join("resolv.conf"),
        format!("nameserver {DNS}\noptions timeout:30 attempts:1\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files dns\n",
    )
    .unwrap();
}

/// The `during*` lines sent to `netcat` while [`CONNECTIONS`] connections from fresh
/// addresses reach `avro`; how many were acknowledged.
fn flood_while_feeding(avro: u16, netcat: u16) -> usize {
    let feeder = std::thread::spawn(move || {
        (0..20)
            .map(|batch| netcat_send(netcat, &lines(&format!("during{batch}"), 0..50)))
            .sum::<usize>()
    });
    let next = Arc::new(AtomicU64::new(0));
    attack(16, CONNECTIONS / 16, move || {
        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
        drop(connect_from(fresh(i), avro));
    });
    feeder.join().unwrap()
}

/// Why the namespace trick cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    match Command::new("unshare").args(["-rm", "true"]).status() {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!(
            "`unshare -rm true` failed ({s}): no user namespaces"
        )),
        Err(e) => Some(format!("`unshare` cannot run: {e}")),
    }
}

/// The agent in its own user+mount namespace with `resolv` and `nss` bound over /etc's.
fn spawn_agent(dir: &Path, conf: &str, http: u16) -> Child {
    let conf_path = dir.join("a1.properties");
    std::fs::write(&conf_path, conf).unwrap();
    let log = std::fs::File::create(dir.join("a1.log")).unwrap();
    let script = "mount --bind \"$1\" /etc/resolv.conf && mount --bind \"$2\" /etc/nsswitch.conf \
                  && shift 2 && exec \"$@\"";
    Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(dir.join("resolv.conf"))
        .arg(dir.join("nsswitch.conf"))
        .arg(sluice_bin())
        .args(["agent", "-n", "a1", "--no-reload-conf", "-f"])
        .arg(&conf_path)
        .arg("-Dflume.monitoring.type=http")
        .arg(format!("-Dflume.monitoring.port={http}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Kills the agent however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn conf(root: &Path, avro: u16, netcat: u16) -> String {
    format!(
        "a1.sources = r1 r2\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {avro}\n\
         a1.sources.r1.channels = c1\na1.sources.r1.ipFilter = true\n\
         a1.sources.r1.ipFilterRules = deny:name:*.blocked.example,allow:ip:*\n\
         a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n\
         a1.sources.r2.type = netcat\na1.sources.r2.bind = 127.0.0.1\n\
         a1.sources.r2.port = {netcat}\na1.sources.r2.channels = c2\n\
         a1.channels.c2.type = file\na1.channels.c2.checkpointDir = {r}/ck\n\
         a1.channels.c2.dataDirs = {r}/data\na1.channels.c2.minimumRequiredSpace = 1048576\n\
         a1.sinks.k2.type = file_roll\na1.sinks.k2.channel = c2\n\
         a1.sinks.k2.sink.directory = {r}/out\na1.sinks.k2.sink.rollInterval = 0\n",
        r = root.display()
    )
}

/// The `i`th fresh client address: 127.1.0.1, 127.1.0.2, ... (none in /etc/hosts).
fn fresh(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

#[test]
fn slow_reverse_dns_costs_a_few_threads_and_a_file_channel_beside_it_keeps_committing() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED slow_reverse_dns test: {why}");
        return;
    }
    let dns = match UdpSocket::bind((DNS, 53)) {
        Ok(s) => SilentDns::start(s),
        Err(e) => {
            eprintln!("SKIPPED slow_reverse_dns test: cannot bind UDP {DNS}:53 ({e})");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_namespace_files(root);
    let (avro, netcat, http) = (free_port(), free_port(), free_port());
    let agent = Killed(spawn_agent(root, &conf(root, avro, netcat), http));
    let pid = agent.0.id();
    let log = || std::fs::read_to_string(root.join("a1.log")).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", netcat)).is_err() {
        assert!(Instant::now() < end, "the agent never listened:\n{}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = lines("first", 0..100);
    assert_eq!(netcat_send(netcat, &first), first.len());
    let before = threads(pid);
    let peak = Peak::start(move || threads(pid));
    let acked = flood_while_feeding(avro, netcat);
    // The lookups the flood started still wait on the silent server.
    let last = lines("last", 0..100);
    let last_acked = netcat_send(netcat, &last);
    std::thread::sleep(Duration::from_secs(1));
    let peak = peak.finish();
    let queries = dns.finish();
    let misses = counter(http, "RESOLVER.dns", "ReverseLookupTimeoutCount")
        + counter(http, "RESOLVER.dns", "ReverseLookupQueueFullCount");
    eprintln!(
        "threads {before} before, {peak} at most; {queries} DNS queries; {misses} misses; \
         netcat lines acknowledged {acked} of 1000 during the flood, {last_acked} of 100 after"
    );
    assert_eq!(acked, 20 * 50, "netcat lines acknowledged during the flood");
    assert_eq!(
        last_acked,
        last.len(),
        "netcat lines acknowledged after the flood"
    );
    let mut want = first;
    for batch in 0..20 {
        want.extend(lines(&format!("during{batch}"), 0..50));
    }
    want.extend(last);
    let got = wait_for_all(&[root.join("out")], &want, Duration::from_secs(60), log);
    assert_eq!(got.len(), want.len(), "each line once");
    assert!(
        peak <= before + THREADS_GAINED_MAX,
        "{peak} threads during the flood, {before} before"
    );
    assert!(queries > 0, "no query reached the silent DNS server");
    assert!(misses > 0, "no miss counted:\n{}", log());
    drop(agent);
}
