//! The `load_balance` sink group on the real binary: netcat → memory channel → two null sinks.
//! Round robin must split light traffic (one line at a time, with idle polls between them)
//! evenly, with and without `backoff`, as well as a burst; `random` must use both sinks.
//! Before the fix every line typed one at a time went to the first sink (12/0).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::ports::free_port;

/// Longest wait for any one thing.
const WAIT: Duration = Duration::from_secs(30);

fn conf(nc: u16, selector: &str, backoff: bool) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1 k2\na1.sinkgroups = g1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {nc}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n\
         a1.sinks.k2.type = null\na1.sinks.k2.channel = c1\n\
         a1.sinkgroups.g1.sinks = k1 k2\n\
         a1.sinkgroups.g1.processor.type = load_balance\n\
         a1.sinkgroups.g1.processor.selector = {selector}\n\
         a1.sinkgroups.g1.processor.backoff = {backoff}\n"
    )
}

struct Rig {
    agent: HttpAgent,
    conn: BufReader<TcpStream>,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn start(selector: &str, backoff: bool) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let (nc, http) = (free_port(), free_port());
        let agent = HttpAgent::spawn(
            dir.path(),
            "a1",
            &conf(nc, selector, backoff),
            Vec::new(),
            http,
            Some(nc),
        );
        let stream = TcpStream::connect(("127.0.0.1", nc)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Rig {
            agent,
            conn: BufReader::new(stream),
            _dir: dir,
        }
    }

    /// Sends `lines` lines and reads their `OK`s.
    fn send(&mut self, lines: usize) {
        let mut text = String::new();
        for i in 0..lines {
            text.push_str(&format!("line {i}\n"));
        }
        self.conn.get_mut().write_all(text.as_bytes()).unwrap();
        for _ in 0..lines {
            let mut ok = String::new();
            self.conn.read_line(&mut ok).unwrap();
            assert_eq!(ok.trim_end(), "OK", "{}", self.agent.log_text());
        }
    }

    fn drained(&self) -> (u64, u64) {
        let c = |k: &str| {
            counter(
                self.agent.http,
                &format!("SINK.{k}"),
                "EventDrainSuccessCount",
            )
        };
        (c("k1"), c("k2"))
    }

    /// Waits (bounded) until the two sinks drained `total` events between them.
    fn wait_drained(&self, total: u64) -> (u64, u64) {
        let end = Instant::now() + WAIT;
        loop {
            let (a, b) = self.drained();
            if a + b >= total {
                return (a, b);
            }
            assert!(
                Instant::now() < end,
                "drained {a} + {b} of {total}:\n{}",
                self.agent.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `n` lines one at a time, each drained and followed by a pause in which the sinks poll
    /// an empty channel.
    fn one_at_a_time(&mut self, n: u64) -> (u64, u64) {
        for i in 1..=n {
            self.send(1);
            self.wait_drained(i);
            std::thread::sleep(Duration::from_millis(150));
        }
        self.drained()
    }
}

#[test]
fn round_robin_splits_lines_sent_one_at_a_time_evenly() {
    for backoff in [false, true] {
        let mut rig = Rig::start("round_robin", backoff);
        let (k1, k2) = rig.one_at_a_time(12);
        assert_eq!((k1, k2), (6, 6), "backoff = {backoff}");
        assert_eq!(rig.agent.terminate(), Some(0));
    }
}

#[test]
fn round_robin_uses_both_sinks_under_load() {
    let mut rig = Rig::start("round_robin", false);
    for _ in 0..20 {
        rig.send(100);
    }
    let (k1, k2) = rig.wait_drained(2000);
    assert_eq!(k1 + k2, 2000);
    assert!(k1 > 0 && k2 > 0, "k1 {k1}, k2 {k2}");
    assert_eq!(rig.agent.terminate(), Some(0));
}

#[test]
fn random_selection_uses_both_sinks_for_lines_sent_one_at_a_time() {
    let mut rig = Rig::start("random", false);
    // All 30 on one sink has a chance of 2 in 2^30.
    let (k1, k2) = rig.one_at_a_time(30);
    assert_eq!(k1 + k2, 30);
    assert!(k1 > 0 && k2 > 0, "k1 {k1}, k2 {k2}");
    assert_eq!(rig.agent.terminate(), Some(0));
}
