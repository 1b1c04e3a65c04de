//! The kafka sink with batches in flight, under a failure in the middle of them: the broker
//! (tansu) sits behind a TCP proxy the test controls, and every client is told to connect
//! through it. Cutting the proxy fails the batches in flight without losing what the broker
//! already stored, so the events can be counted end to end: the sink rolls the failed batch
//! and the later ones back, produces them again once the broker is reachable, and every
//! event arrives (duplicates counted, none lost).

use crate::support::kafka_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_support::*;

/// A loopback TCP proxy to `127.0.0.1:target` that can be cut (open connections shut down,
/// new ones closed at once) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = Proxy {
            port,
            up: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(false)),
            live: Arc::default(),
        };
        let (up, stop, live) = (p.up.clone(), p.stop.clone(), p.live.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                {
                    let mut l = live.lock().unwrap();
                    l.push(client.try_clone().unwrap());
                    l.push(server.try_clone().unwrap());
                }
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        p
    }

    /// Shuts every open connection down and refuses new ones until [`restore`].
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies `from` to `to` on a thread until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// An edge: netcat on `port` -> memory -> kafka sink into `topic`, small batches so several
/// are in flight, and a short message timeout so a cut fails them quickly.
fn edge_conf(bootstrap: &str, port: u16, topic: &str) -> String {
    format!(
        "edge.sources = r1\nedge.channels = c1\nedge.sinks = k1\n\
         edge.sources.r1.type = netcat\nedge.sources.r1.bind = 127.0.0.1\n\
         edge.sources.r1.port = {port}\nedge.sources.r1.channels = c1\n\
         edge.channels.c1.type = memory\nedge.channels.c1.capacity = 20000\n\
         edge.channels.c1.transactionCapacity = 1000\n\
         edge.sinks.k1.type = kafka\nedge.sinks.k1.channel = c1\n\
         edge.sinks.k1.flumeBatchSize = 200\n\
         edge.sinks.k1.kafka.bootstrap.servers = {bootstrap}\nedge.sinks.k1.kafka.topic = {topic}\n\
         edge.sinks.k1.kafka.producer.acks = all\n\
         edge.sinks.k1.kafka.producer.message.timeout.ms = 2000\n\
         edge.sinks.k1.kafka.producer.reconnect.backoff.max.ms = 200\n"
    )
}

#[test]
fn a_cut_in_the_middle_of_pipelined_batches_rolls_them_back_and_every_event_arrives() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let broker_port = free_port();
    let proxy = Proxy::start(broker_port);
    let Some(b) = Broker::start_advertised(root, broker_port, proxy.port) else {
        eprintln!("skipped: the broker is external ({BOOTSTRAP_ENV}) and has no proxy in front");
        return;
    };
    let topic = unique("inflight");
    b.create_topic(&topic, 2);
    let nc = free_port();
    let edge = Agent::start(root, "edge", &edge_conf(&b.bootstrap, nc, &topic), Some(nc));
    let committed = || edge.counter("SINK.k1", "EventDrainSuccessCount");

    let before = lines("before", 0..2000);
    assert_eq!(send_lines(nc, &before), before.len());
    edge.wait_until("committed a first batch", || committed() >= 200);
    // The cut: whatever is in flight now fails; a backlog keeps the next batches coming.
    proxy.cut();
    let during = lines("during", 0..3000);
    assert_eq!(
        send_lines(nc, &during),
        during.len(),
        "the channel takes them"
    );
    edge.wait_until("failed a batch", || {
        edge.counter("SINK.k1", "EventWriteFail") > 0
    });
    let held = edge.counter("CHANNEL.c1", "ChannelSize");
    proxy.restore();
    let after = lines("after", 0..1000);
    assert_eq!(send_lines(nc, &after), after.len());

    let total = (before.len() + during.len() + after.len()) as u64;
    edge.wait_until("committed every event", || {
        committed() == total && edge.counter("CHANNEL.c1", "ChannelSize") == 0
    });
    let log = edge.log_text();
    assert!(
        log.contains("delivery not acknowledged; rolling back"),
        "the failed batch was rolled back:\n{log}"
    );
    // Whether another batch was still pending when the first failed depends on timing (one
    // of three full runs had none in flight after it); the runner's unit test
    // `an_unacknowledged_batch_rolls_back_with_the_later_pending_one_and_both_come_again_in_order`
    // pins that path deterministically, and every event arriving below is the outcome.
    if !log.contains("a batch before it was not acknowledged") {
        eprintln!("no batch was pending behind the failed one this time");
    }

    // End to end: every event is in the topic.
    // Everything was committed, so it is all in the topic: read until 5 s bring nothing new.
    let got = b.consume_all(&topic, usize::MAX, Duration::from_secs(5));
    let bodies: Vec<String> = got
        .iter()
        .map(|(v, _)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let have: std::collections::BTreeSet<&String> = bodies.iter().collect();
    let sent: Vec<&String> = before.iter().chain(&during).chain(&after).collect();
    let missing: Vec<&&String> = sent.iter().filter(|l| !have.contains(**l)).collect();
    eprintln!(
        "{} sent, {} records read, {} duplicates, {held} events held in the channel during the cut",
        sent.len(),
        bodies.len(),
        duplicates(&bodies)
    );
    assert!(
        missing.is_empty(),
        "{} events lost, first {:?}\n{}",
        missing.len(),
        missing.first(),
        edge.log_text()
    );
}
