//! Issue 80: a syslog TCP source's memory is bounded per source, not per connection. 1,000
//! connections each send 2 MiB of messages to a `syslogtcp` source whose memory channel is
//! full (no sink): every connection parses a group and waits to commit it, and before the
//! source-wide budget (`maxBufferedBytes`, 128 MiB) each held two groups of 1 MiB, about
//! 2 GiB in all. With the budget the agent's peak RSS stays under 400 MiB, and the senders
//! wait in TCP.

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::agent_proc::Proc;
use crate::support::hostile_support::vm_hwm_mib;
use crate::support::ports::free_port;

const CONNECTIONS: usize = 1_000;
const BYTES_PER_CONNECTION: usize = 2 << 20;

/// Raises this process's open-file limit to its hard limit (1,000 sockets).
fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Writes up to [`BYTES_PER_CONNECTION`] to each of `socks` without blocking, round after
/// round, until every one is done or would block and `until` has passed; bytes written.
fn push_all(socks: &mut [TcpStream], until: Instant) -> usize {
    let line = format!("<13>Nov 28 12:00:00 host app: {}\n", "x".repeat(170));
    let chunk = line.repeat(64 * 1024 / line.len());
    let mut sent = vec![0usize; socks.len()];
    loop {
        let mut progressed = false;
        for (s, n) in socks.iter_mut().zip(sent.iter_mut()) {
            if *n >= BYTES_PER_CONNECTION {
                continue;
            }
            match s.write(chunk.as_bytes()) {
                Ok(k) => {
                    *n += k;
                    progressed |= k > 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("a connection failed: {e}"),
            }
        }
        let done = sent.iter().all(|&n| n >= BYTES_PER_CONNECTION);
        if done
            || (Instant::now() >= until && !progressed)
            || Instant::now() >= until + Duration::from_secs(30)
        {
            return sent.iter().sum();
        }
        if !progressed {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_thousand_connections_to_a_full_channel_stay_within_the_sources_budget() {
    raise_nofile();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\n\
         a1.sources.r1.type = syslogtcp\na1.sources.r1.host = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
         a1.channels.c1.transactionCapacity = 1000\n"
    );
    let agent = Proc::builder(tmp.path())
        .conf_text(&conf)
        .ready_port(port)
        .nofile(8192)
        .spawn();
    let before = vm_hwm_mib(agent.pid());
    let mut socks: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let sent = push_all(&mut socks, Instant::now() + Duration::from_secs(20));
    // Let the agent read and parse what the kernel holds for it.
    std::thread::sleep(Duration::from_secs(3));
    let peak = vm_hwm_mib(agent.pid());
    eprintln!(
        "{CONNECTIONS} connections, {} MiB sent, agent VmHWM {before} -> {peak} MiB",
        sent >> 20
    );
    assert!(
        sent >= 128 << 20,
        "only {} MiB could be sent: the test did not load the source",
        sent >> 20
    );
    assert!(
        peak < 400,
        "agent VmHWM {peak} MiB with {CONNECTIONS} connections"
    );
    drop(socks);
}
