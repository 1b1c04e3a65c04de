//! The http and syslogtcp sources against hostile clients, in a real agent process at default
//! settings: eight 16 MiB JSON bodies at once that would decode into millions of events or
//! headers (the agent's peak RSS, `VmHWM` in /proc, must stay under 512 MiB and a good
//! request must still be served), and floods of connections over `maxConnections` (one
//! warning per interval, not one per connection).

use crate::support::agent_proc;
use crate::support::hostile_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agent_proc::Proc;
use hostile_support::{free_port, vm_hwm_mib};

/// The bound on the agent's peak RSS under the attack.
const VM_HWM_MAX_MIB: u64 = 512;

/// http `r1` and syslogtcp `r2` (plus `extra` lines) -> memory `c1` -> null.
fn start(dir: &Path, extra: &str) -> (Proc, u16, u16) {
    let (http, syslog) = (free_port(), free_port());
    let conf = format!(
        "a1.sources = r1 r2\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {http}\n\
         a1.sources.r1.channels = c1\n\
         a1.sources.r2.type = syslogtcp\na1.sources.r2.host = 127.0.0.1\na1.sources.r2.port = {syslog}\n\
         a1.sources.r2.channels = c1\n{extra}\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    );
    let agent = Proc::spawn(dir, "a1", &conf, Vec::new(), Some(http));
    agent.wait_until("syslog listening", || {
        TcpStream::connect(("127.0.0.1", syslog)).is_ok()
    });
    (agent, http, syslog)
}

/// POSTs `body` and returns the status code.
fn post(port: u16, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[test]
fn sixteen_mib_bodies_that_decode_into_millions_of_items_are_refused_within_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (agent, http, _) = start(tmp.path(), "");
    let body_max = 16 << 20;
    // Five million empty events.
    let mut empties = b"[".to_vec();
    while empties.len() < body_max - 8 {
        empties.extend_from_slice(b"{},");
    }
    empties.extend_from_slice(b"{}]");
    // One event with two million one-character headers.
    let mut headers = br#"[{"body":"x","headers":{"#.to_vec();
    let mut i = 0u32;
    while headers.len() < body_max - 32 {
        headers.extend_from_slice(format!("\"{i:x}\":\"\",").as_bytes());
        i += 1;
    }
    headers.extend_from_slice(br#""end":""}}]"#);
    let bodies = Arc::new([empties, headers]);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let bodies = bodies.clone();
            std::thread::spawn(move || post(http, &bodies[i % 2]))
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let hwm = vm_hwm_mib(agent.child.id());
    eprintln!("statuses {statuses:?}; VmHWM {hwm} MiB");
    assert!(hwm < VM_HWM_MAX_MIB, "peak RSS {hwm} MiB");
    assert!(
        statuses.iter().all(|&s| s == 413 || s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&413), "{statuses:?}");
    assert_eq!(post(http, br#"[{"headers":{"a":"b"},"body":"ok"}]"#), 200);
}

#[test]
fn connections_over_the_limit_are_logged_once_per_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (agent, http, syslog) = start(
        tmp.path(),
        "a1.sources.r1.maxConnections = 2\na1.sources.r2.maxConnections = 2\n",
    );
    // The start-up probes' connections are gone by now; these two take every slot.
    std::thread::sleep(Duration::from_millis(500));
    let mut held = Vec::new();
    for port in [http, syslog] {
        for _ in 0..2 {
            held.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // The http source closes the connection idle longest for each new one, so the new ones
    // are kept open (a read would wait for its timeout 50 times, and a slow machine would see
    // the next 10 s interval's line); the syslog source closes each new one at once.
    for _ in 0..50 {
        held.push(TcpStream::connect(("127.0.0.1", http)).unwrap());
    }
    for _ in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", syslog)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut b = [0u8; 1];
        let _ = s.read(&mut b);
    }
    let count = |source: &str| {
        agent
            .log_text()
            .lines()
            // The http source closes the connection idle longest for a new one (issue 87:
            // slots by progress), the syslog source refuses the new one: each logs once.
            .filter(|l| {
                (l.contains("too many connections") || l.contains("closed the connection idle"))
                    && l.contains(source)
            })
            .count()
    };
    agent.wait_until("a refusal logged by each source", || {
        count("source=r1") >= 1 && count("source=r2") >= 1
    });
    assert_eq!(count("source=r1"), 1, "{}", agent.log_text());
    assert_eq!(count("source=r2"), 1, "{}", agent.log_text());
    assert!(agent.log_text().contains("refused=1"));
    drop(held);
}
