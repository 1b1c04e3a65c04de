//! The avro source against hostile peers, in a real agent process at default settings, beside
//! a netcat source of the same agent that a client keeps using: a header-heavy `appendBatch`,
//! a 60 MiB handshake protocol text, 24 connections holding partial 64 MiB frames, a peer
//! dribbling one byte at a time, and call metadata that tries to forge a log line. After each
//! attack the agent's peak RSS (`VmHWM` in /proc) must be under 512 MiB, the netcat client
//! must have gone on getting its `OK`s, and the agent must still serve.

mod agent_proc;
#[path = "avro_plain/mod.rs"]
mod plain;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agent_proc::{counter, HttpAgent};

/// The bound on the agent's peak RSS under every attack.
const VM_HWM_MAX_MIB: u64 = 512;
/// The longest the netcat client may wait for one answer during an attack (the attacks below
/// stalled it for 2 s and more when decoding ran on the async workers).
const FLOW_GAP_MAX: Duration = Duration::from_secs(1);

/// One attack at a time: they measure the CPU and memory of their own agent.
static SERIAL: Mutex<()> = Mutex::new(());

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Bed {
    agent: HttpAgent,
    avro: u16,
    netcat: u16,
}

/// avro `r1` (default settings plus `extra` lines) -> memory `c1` -> null, and netcat `r2`
/// -> memory `c2` -> null, with the HTTP metrics reporter.
fn start(dir: &Path, extra: &str) -> Bed {
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
    fn vm_hwm_mib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.agent.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib / 1024
    }

    fn read_fails(&self) -> u64 {
        counter(self.agent.http, "SOURCE.r1", "EventReadFail")
    }

    /// The agent still takes a well-formed call.
    fn still_serves(&self) {
        let mut s = TcpStream::connect(("127.0.0.1", self.avro)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let call = plain::request(true, "append", &[("k", "v", b"good")]);
        s.write_all(&plain::frame(9, &call)).unwrap();
        let (serial, answer) = plain::read_frame(&mut s).unwrap();
        assert_eq!((serial, answer), (9, vec![0; 7]), "BOTH, then OK");
    }

    /// Checks the bounds after an attack.
    fn check(&self, flow: Flow) {
        let (acks, gap) = flow.finish();
        let hwm = self.vm_hwm_mib();
        eprintln!("netcat: {acks} acks, longest wait {gap:?}; VmHWM {hwm} MiB");
        assert!(
            acks > 0,
            "the netcat client got no answer during the attack"
        );
        assert!(
            gap < FLOW_GAP_MAX,
            "the netcat client waited {gap:?} for an answer"
        );
        assert!(hwm < VM_HWM_MAX_MIB, "peak RSS {hwm} MiB");
        self.still_serves();
    }
}

/// A netcat client sending 10 lines at a time and reading their `OK`s until stopped.
struct Flow {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(u64, Duration)>,
}

fn netcat_flow(port: u16) -> Flow {
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (mut acks, mut gap, mut last) = (0u64, Duration::ZERO, Instant::now());
        let mut answer = [0u8; 30];
        while !s2.load(Ordering::Relaxed) {
            s.write_all(&b"line\n".repeat(10)).unwrap();
            s.read_exact(&mut answer).unwrap();
            assert_eq!(&answer[..], &b"OK\n".repeat(10)[..]);
            acks += 10;
            gap = gap.max(last.elapsed());
            last = Instant::now();
        }
        (acks, gap)
    });
    // Flowing before the attack starts.
    std::thread::sleep(Duration::from_millis(300));
    Flow { stop, handle }
}

impl Flow {
    fn finish(self) -> (u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// Runs `peers` threads of `attack` until each did `rounds` rounds.
fn attack(peers: usize, rounds: usize, attack: impl Fn() + Send + Sync + 'static) {
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
fn send_and_wait_close(port: u16, bytes: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(bytes);
    let _ = plain::closed_by_server(&mut s);
}

#[test]
fn two_peers_sending_header_heavy_batches_cost_neither_the_workers_nor_the_memory() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    // ~24 MiB: events of 1,024 distinct one- or two-byte keys with empty values.
    let mut events = Vec::new();
    for _ in 0..4_800 {
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
    let frame = Arc::new(plain::frame(1, &call));
    assert!(frame.len() > 20 << 20, "{} bytes", frame.len());
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    attack(2, 3, move || send_and_wait_close(port, &frame));
    bed.check(flow);
    assert_eq!(bed.read_fails(), 6, "every such call was refused");
}

#[test]
fn a_sixty_mib_handshake_text_is_refused_from_its_length() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    // An unknown client hash with 60 MiB of valid JSON as its protocol.
    let mut text = b"[".to_vec();
    text.extend(b"{},".repeat(20 << 20));
    text.extend(b"{}]");
    let mut p = vec![7u8; 16];
    p.push(2);
    plain::string(&mut p, &text);
    p.extend_from_slice(&plain::FLUME_MD5);
    p.push(0);
    p.push(0);
    plain::string(&mut p, b"append");
    p.extend([0, 0]);
    let frame = Arc::new(plain::frame(1, &p));
    drop(text);
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    attack(1, 2, move || send_and_wait_close(port, &frame));
    bed.check(flow);
    assert_eq!(bed.read_fails(), 2);
    assert!(bed.agent.log_text().contains("handshake clientProtocol"));
}

#[test]
fn connections_holding_partial_frames_hold_no_more_than_the_frame_budget() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    // 24 connections each announce a 64 MiB frame and send 40 MiB of it, then wait.
    let conns: Vec<_> = (0..24)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
                let mut head = vec![0, 0, 0, 1, 0, 0, 0, 1];
                head.extend_from_slice(&((64 << 20) - 64i32).to_be_bytes());
                let _ = s.write_all(&head);
                let chunk = vec![0u8; 1 << 20];
                for _ in 0..40 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
                s
            })
        })
        .collect();
    let held: Vec<TcpStream> = conns.into_iter().map(|t| t.join().unwrap()).collect();
    std::thread::sleep(Duration::from_millis(500));
    bed.check(flow);
    drop(held);
}

#[test]
fn a_peer_dribbling_a_frame_is_closed_by_the_whole_frame_deadline() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // Each byte comes well within request-timeout; the frame as a whole does not.
    let bed = start(tmp.path(), "a1.sources.r1.request-timeout = 1000\n");
    let mut s = TcpStream::connect(("127.0.0.1", bed.avro)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let frame = plain::frame(1, &plain::request(true, "append", &[("k", "v", b"x")]));
    let started = Instant::now();
    let mut closed_after = None;
    for b in frame.iter().take(20) {
        if s.write_all(&[*b]).is_err() || plain::closed_by_server(&mut s) {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the dribbling connection is still open after 6 s");
    assert!(closed_after < Duration::from_secs(5), "{closed_after:?}");
    assert_eq!(bed.read_fails(), 1);
    assert!(bed.agent.log_text().contains("from its first byte"));
    bed.still_serves();
}

#[test]
fn call_metadata_forging_a_log_line_is_logged_escaped() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(
        tmp.path(),
        "a1.sources.r1.clientGoneAfter = 1s\na1.sources.r1.clientForgetAfter = 1h\n",
    );
    let forged = "edge\n2026-11-23T00:00:00.000000Z ERROR sluice: forged line\u{1b}[2J";
    let mut call = plain::FLUME_MD5.to_vec();
    call.push(0);
    call.extend_from_slice(&plain::FLUME_MD5);
    call.push(0);
    plain::long(&mut call, 2);
    plain::string(&mut call, b"sluice.agent");
    plain::string(&mut call, forged.as_bytes());
    plain::string(&mut call, b"sluice.sink");
    plain::string(&mut call, b"k1\r\n\x1b]0;title\x07");
    call.push(0);
    plain::string(&mut call, b"append");
    call.push(0);
    plain::string(&mut call, b"x");
    {
        let mut s = TcpStream::connect(("127.0.0.1", bed.avro)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&plain::frame(1, &call)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
    }
    bed.agent.wait_until("the upstream-gone alarm", || {
        bed.agent.log_text().contains("alarm raised")
    });
    let log = bed.agent.log_text();
    assert!(!log.contains('\u{1b}'), "a raw ESC reached the log:\n{log}");
    assert!(!log.contains('\r'), "a raw CR reached the log:\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.starts_with("2026-11-23T00:00:00.000000Z")),
        "a forged line:\n{log}"
    );
    assert!(
        log.contains("edge\\n2026-11-23T00:00:00.000000Z ERROR sluice: forged line\\u{1b}[2J"),
        "{log}"
    );
}
