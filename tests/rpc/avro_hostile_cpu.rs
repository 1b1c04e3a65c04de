//! A measurement, not a test (ignored by default):
//! `cargo test --release --test rpc avro_hostile_cpu:: -- --ignored --nocapture`.
//!
//! One agent (avro source at default settings and a netcat source beside it, tests/
//! hostile_support) and a netcat client that keeps sending 10 lines and reading their `OK`s.
//! Prints the client's acks/s alone, beside two ordinary CPU-bound processes
//! (`yes > /dev/null`), and beside two hostile avro peers sending ~24 MiB header-heavy
//! `appendBatch` calls back to back (issue 25's bar: hostile >= 50 % of the CPU-bound
//! figure), the latency of `GET /metrics` in each phase (bar: < 100 ms under attack), and the
//! agent's peak RSS. `SLUICE_PHASE_SECS` sets each phase's length (default 8);
//! `SLUICE_HOSTILE_EVENTS` the events per hostile call (default 4,800: ~24 MiB, refused as
//! too costly; 700 makes ~3.5 MiB calls that are decoded and put, ~90 MB of events each).

use crate::support::agent_proc;
use crate::support::hostile_support;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hostile_support::{header_heavy_frame_of, netcat_flow, start, Flow};

/// Sends one call and waits for its answer or the close (bounded).
fn send_call(port: u16, frame: &[u8]) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = s.write_all(frame);
    let _ = hostile_support::plain::read_frame(&mut s);
}

/// Acks per second over `secs`, and the `/metrics` latencies (sorted) sampled meanwhile.
fn phase(flow: &Flow, http: u16, secs: u64) -> (f64, Vec<Duration>) {
    let a0 = flow.acks.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut lat = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        let t = Instant::now();
        let m = agent_proc::metrics(http);
        assert!(!m.is_null(), "/metrics did not answer");
        lat.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let acks = flow.acks.load(Ordering::Relaxed) - a0;
    lat.sort();
    (acks as f64 / t0.elapsed().as_secs_f64(), lat)
}

fn show(name: &str, (rate, lat): &(f64, Vec<Duration>)) {
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{name:<28} {rate:>10.0} acks/s   /metrics p50 {:>8.2?} p99 {:>8.2?} max {:>8.2?} ({} samples)",
        p(0.5),
        p(0.99),
        p(1.0),
        lat.len()
    );
}

#[test]
#[ignore]
fn netcat_beside_hostile_avro_peers_versus_beside_cpu_bound_processes() {
    let secs: u64 = std::env::var("SLUICE_PHASE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    let http = bed.agent.http;
    let flow = netcat_flow(bed.netcat);
    let alone = phase(&flow, http, secs);

    let mut yes: Vec<Child> = (0..2)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "exec yes > /dev/null"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let beside_cpu = phase(&flow, http, secs);
    for y in &mut yes {
        let _ = y.kill();
        let _ = y.wait();
    }

    let events = std::env::var("SLUICE_HOSTILE_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_800);
    let frame = Arc::new(header_heavy_frame_of(events));
    let stop = Arc::new(AtomicBool::new(false));
    let port = bed.avro;
    let peers: Vec<_> = (0..2)
        .map(|_| {
            let (frame, stop) = (frame.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    send_call(port, &frame);
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let beside_hostile = phase(&flow, http, secs);
    stop.store(true, Ordering::Relaxed);
    let calls: u64 = peers.into_iter().map(|p| p.join().unwrap()).sum();
    let (_, gap) = flow.finish();

    eprintln!(
        "phases of {secs} s; load average before: {:?}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    show("alone", &alone);
    show("beside 2 x yes", &beside_cpu);
    show("beside 2 hostile avro peers", &beside_hostile);
    eprintln!(
        "hostile / cpu-bound: {:.2} (bar >= 0.50); hostile calls sent {calls} ({} refused); longest netcat wait {gap:?}; VmHWM {} MiB",
        beside_hostile.0 / beside_cpu.0,
        bed.read_fails(),
        bed.vm_hwm_mib()
    );
}
