//! Shared by the hostile-peer tests and measurements: an agent process with an avro source
//! and a netcat source beside it, a netcat client that keeps using it, hostile avro frames,
//! and the agent's peak RSS (`VmHWM` in /proc).
#![allow(dead_code)]

pub use crate::support::avro_plain as plain;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::ports;
pub use ports::free_port;

/// The peak resident set of process `pid` so far, in MiB.
pub fn vm_hwm_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

pub struct Bed {
    pub agent: HttpAgent,
    pub avro: u16,
    pub netcat: u16,
}

/// avro `r1` (default settings plus `extra` lines) -> memory `c1` -> null, and netcat `r2`
/// -> memory `c2` -> null, with the HTTP metrics reporter.
pub fn start(dir: &Path, extra: &str) -> Bed {
    let (avro, netcat, http) = (free_port(), free_port(), free_port());
    let conf = format!(
        "a1.sources = r1 r2\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {avro}\n\
         a1.sources.r1.channels = c1\n{extra}\
         a1.sources.r2.type = netcat\na1.sources.r2.bind = 127.0.0.1\na1.sources.r2.port = {netcat}\n\
         a1.sources.r2.channels = c2\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n\
         a1.channels.c2.type = memory\na1.channels.c2.capacity = 10000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n\
         a1.sinks.k2.type = null\na1.sinks.k2.channel = c2\n"
    );
    let agent = HttpAgent::spawn(dir, "a1", &conf, Vec::new(), http, Some(avro));
    agent.wait_until("netcat listening", || {
        TcpStream::connect(("127.0.0.1", netcat)).is_ok()
    });
    Bed {
        agent,
        avro,
        netcat,
    }
}

impl Bed {
    /// The agent's peak resident set so far, in MiB.
    pub fn vm_hwm_mib(&self) -> u64 {
        vm_hwm_mib(self.agent.child.id())
    }

    pub fn read_fails(&self) -> u64 {
        counter(self.agent.http, "SOURCE.r1", "EventReadFail")
    }

    /// The agent still takes a well-formed call.
    pub fn still_serves(&self) {
        let mut s = TcpStream::connect(("127.0.0.1", self.avro)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let call = plain::request(true, "append", &[("k", "v", b"good")]);
        s.write_all(&plain::frame(9, &call)).unwrap();
        let (serial, answer) = plain::read_frame(&mut s).unwrap();
        assert_eq!((serial, answer), (9, vec![0; 7]), "BOTH, then OK");
    }
}

/// A netcat client sending 10 lines at a time and reading their `OK`s until stopped.
pub struct Flow {
    stop: Arc<AtomicBool>,
    /// Lines answered `OK` so far.
    pub acks: Arc<AtomicU64>,
    handle: JoinHandle<Duration>,
}

pub fn netcat_flow(port: u16) -> Flow {
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let (s2, a2) = (stop.clone(), acks.clone());
    let handle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (mut gap, mut last) = (Duration::ZERO, Instant::now());
        let mut answer = [0u8; 30];
        while !s2.load(Ordering::Relaxed) {
            s.write_all(&b"line\n".repeat(10)).unwrap();
            s.read_exact(&mut answer).unwrap();
            assert_eq!(&answer[..], &b"OK\n".repeat(10)[..]);
            a2.fetch_add(10, Ordering::Relaxed);
            gap = gap.max(last.elapsed());
            last = Instant::now();
        }
        gap
    });
    // Flowing before the attack starts.
    std::thread::sleep(Duration::from_millis(300));
    Flow { stop, acks, handle }
}

impl Flow {
    /// Stops the client: the lines answered, and the longest wait for an answer.
    pub fn finish(self) -> (u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let gap = self.handle.join().unwrap();
        (self.acks.load(Ordering::Relaxed), gap)
    }
}

/// Runs `peers` threads of `attack` until each did `rounds` rounds.
pub fn attack(peers: usize, rounds: usize, attack: impl Fn() + Send + Sync + 'static) {
    let attack = Arc::new(attack);
    let threads: Vec<_> = (0..peers)
        .map(|_| {
            let a = attack.clone();
            std::thread::spawn(move || (0..rounds).for_each(|_| a()))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

/// Sends `bytes` on a new connection and waits (bounded) for the server to close it.
pub fn send_and_wait_close(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(bytes);
    let _ = plain::closed_by_server(&mut s);
}

/// A ~24 MiB `appendBatch` frame of events with 1,024 distinct one- or two-byte header keys
/// and empty values (a few bytes on the wire, about a hundred each in memory).
pub fn header_heavy_frame() -> Vec<u8> {
    header_heavy_frame_of(4_800)
}

/// [`header_heavy_frame`] with `n` events (about 5 KiB each on the wire, 130 KiB in memory).
pub fn header_heavy_frame_of(n: usize) -> Vec<u8> {
    let mut events = Vec::new();
    for _ in 0..n {
        let mut e = Vec::new();
        plain::long(&mut e, 1024);
        for k in 0..1024u32 {
            plain::string(&mut e, format!("{k:x}").as_bytes());
            plain::string(&mut e, b"");
        }
        e.push(0);
        plain::string(&mut e, b"");
        events.push(e);
    }
    let mut call = plain::request(true, "appendBatch", &[]);
    call.pop(); // the empty array's end
    plain::long(&mut call, events.len() as i64);
    events.iter().for_each(|e| call.extend_from_slice(e));
    call.push(0);
    plain::frame(1, &call)
}

/// A blocking TCP connection to loopback `port` from the local address `from` (any of
/// 127.0.0.0/8 is local on Linux), within 10 s.
pub fn connect_from(from: std::net::Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    use std::net::SocketAddr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(SocketAddr::from((from, 0)))?;
        let to = SocketAddr::from(([127, 0, 0, 1], port));
        tokio::time::timeout(Duration::from_secs(10), sock.connect(to))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    })?;
    let s = s.into_std()?;
    s.set_nonblocking(false)?;
    Ok(s)
}

/// The highest value `sample` returns, sampled every 10 ms on a thread of its own until
/// [`Peak::finish`].
pub struct Peak {
    done: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl Peak {
    pub fn start(sample: impl Fn() -> u64 + Send + 'static) -> Peak {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = sample();
            while !d.load(Ordering::Relaxed) {
                peak = peak.max(sample());
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        });
        Peak { done, handle }
    }

    /// Stops sampling; the highest value seen.
    pub fn finish(self) -> u64 {
        self.done.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}
