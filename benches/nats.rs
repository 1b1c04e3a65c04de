//! NATS JetStream throughput, Sluice against the client library on the same 3-node cluster
//! (R3 file stream, `sync_interval: always`) in the same run (docs/performance.md, "NATS"):
//!
//! 1. `client`: async-nats itself, batches of `BATCH` plain JetStream publishes with
//!    `Nats-Msg-Id`, every PubAck of a batch awaited before the next batch (the wait an
//!    at-least-once sink needs);
//! 2. `client atomic`: async-nats, each batch one atomic batch (ADR-50), its PubAck awaited;
//! 3. `sink`: the `nats` sink (`exactlyOnce`, the default) taking events with ids (one
//!    origin) from a memory channel through the sink runner, first take to last commit;
//! 4. `sink plain`: the same with `exactlyOnce = false`;
//! 5. `client consume all` / `client consume explicit`: an async-nats pull consumer reading
//!    stream (1) back, acknowledging after each batch with one `AckAll` / an explicit ack of
//!    each message; `source`: the `nats` source into a file channel drained by a `null` sink
//!    (`nats_parts/consume.rs`), 3 rounds each, medians and the ratio to the consumer that
//!    acknowledges as the source does.
//!    `SLUICE_NATS_BENCH_ONLY=source` fills one stream with (1) and runs only these;
//!    `SLUICE_NATS_BENCH_SOURCE_KEYS="k = v; k2 = v2|k = w"`: source variants run beside the
//!    default one (default: `ackPolicy = all`).
//!
//! Each of (1)-(4) runs `SLUICE_NATS_BENCH_ROUNDS` (3) rounds, the order alternating, each
//! into a fresh stream; events/s and CPU µs per event (this process's user + system time:
//! the servers are processes of their own) are printed per round and as medians. Bodies are
//! `SLUICE_NATS_BENCH_BODY` bytes (200 and 1024 by default, both run), N =
//! `SLUICE_NATS_BENCH_N` (20000). `cargo bench --bench nats`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark harness: a failed unwrap aborts the run and names the line"
)]
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the test support it includes makes its fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

#[allow(dead_code, unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use sluice::agent::channel::{put_batch, AgentChannel};
use sluice::agent::metrics::CounterGroup;
use sluice::agent::processor::SinkPolicy;
use sluice::agent::sink::runner::{self, SinkUnit};
use sluice::agent::topology::{load, AgentConfig};
use sluice_core::Event;
use support::nats_support::{cluster, unique, Cluster};

#[path = "nats_parts/consume.rs"]
mod consume;

const BATCH: usize = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's user + system CPU time.
fn cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value, and getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The servers of a comma-separated `url`.
fn addrs(url: &str) -> Vec<async_nats::ServerAddr> {
    url.split(',').map(|s| s.parse().unwrap()).collect()
}

/// A fresh stream for one run: subjects `<name>.x` and the sink's records.
fn stream(c: &Cluster) -> String {
    let s = unique("BENCH");
    c.create_stream(
        &s,
        &[&format!("{s}.x"), &format!("sluice.progress.{s}.*")],
        120.0,
    );
    s
}

async fn client(url: &str, subject: &str, n: usize, body: usize, atomic: bool) {
    let nc = async_nats::connect(addrs(url)).await.unwrap();
    let js = async_nats::jetstream::new(nc.clone());
    let payload = bytes::Bytes::from(vec![b'x'; body]);
    for b in 0..n / BATCH {
        if atomic {
            let id = format!("b{b}");
            for i in 0..BATCH {
                let mut h = HeaderMap::new();
                h.insert(
                    "Nats-Msg-Id",
                    format!("0000000000000001:{}", b * BATCH + i + 1).as_str(),
                );
                h.insert("Nats-Batch-Id", id.as_str());
                h.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
                if i + 1 == BATCH {
                    h.insert("Nats-Batch-Commit", "1");
                    let r = nc
                        .request_with_headers(subject.to_owned(), h, payload.clone())
                        .await
                        .unwrap();
                    assert!(
                        !String::from_utf8_lossy(&r.payload).contains("error"),
                        "{:?}",
                        r.payload
                    );
                } else {
                    nc.publish_with_headers(subject.to_owned(), h, payload.clone())
                        .await
                        .unwrap();
                }
            }
            continue;
        }
        let mut acks = Vec::with_capacity(BATCH);
        for i in 0..BATCH {
            let mut h = HeaderMap::new();
            h.insert(
                "Nats-Msg-Id",
                format!("0000000000000001:{}", b * BATCH + i + 1).as_str(),
            );
            acks.push(
                js.publish_with_headers(subject.to_owned(), h, payload.clone())
                    .await
                    .unwrap(),
            );
        }
        for a in acks {
            a.await.unwrap();
        }
    }
}

fn sink_conf(url: &str, stream: &str, n: usize, exactly_once: bool) -> AgentConfig {
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k\n\
         a.sources.r.type = seq\na.sources.r.channels = c\n\
         a.channels.c.type = memory\na.channels.c.capacity = {n}\n\
         a.channels.c.transactionCapacity = 1000\na.channels.c.byteCapacity = 0\n\
         a.sinks.k.type = nats\na.sinks.k.channel = c\na.sinks.k.url = {url}\n\
         a.sinks.k.subject = {stream}.x\na.sinks.k.stream = {stream}\n\
         a.sinks.k.batchSize = {BATCH}\na.sinks.k.exactlyOnce = {exactly_once}\n"
    );
    let l = load(&text, "a", &[]);
    l.config.unwrap_or_else(|| panic!("{:?}", l.problems))
}

async fn wait_count(c: &CounterGroup, name: &str, n: u64) {
    let end = Instant::now() + Duration::from_secs(600);
    while c.get(name) < n {
        assert!(Instant::now() < end, "{name} stuck at {}", c.get(name));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The sink over `n` events with ids already in a memory channel; returns when all committed.
async fn sink(cfg: &AgentConfig, n: usize, body: usize) -> (Duration, Duration) {
    let ch: Arc<dyn AgentChannel> = cfg.channels["c"].kind.open("c").await.unwrap();
    let payload = vec![b'x'; body];
    for b in 0..n / 1000 {
        let events = (0..1000)
            .map(|i| {
                Event::new(payload.clone())
                    .header("sluiceId", format!("00000000000000ab:{}", b * 1000 + i + 1))
            })
            .collect();
        put_batch(&*ch, events).await.unwrap();
    }
    let kind = &cfg.sinks["k"].kind;
    let counters = CounterGroup::sink();
    let unit = SinkUnit::new(
        kind.build("k"),
        ch,
        kind.batch_size(),
        counters.clone(),
        sluice::agent::sink::poison::PoisonHandler::new("k", None),
    );
    let (stop_tx, stop) = sluice::agent::stop::channel();
    let (t, c0) = (Instant::now(), cpu());
    let task = tokio::spawn(runner::run(
        "k".into(),
        BTreeMap::from([("k".to_owned(), unit)]),
        SinkPolicy::Default("k".into()),
        stop,
    ));
    wait_count(
        &counters,
        "EventDrainSuccessCount",
        (n / 1000 * 1000) as u64,
    )
    .await;
    let out = (t.elapsed(), cpu() - c0);
    stop_tx.stop();
    let _ = task.await;
    out
}

/// Runs `f` and returns its wall time and this process's CPU time.
async fn timed<F: std::future::Future<Output = ()>>(f: F) -> (Duration, Duration) {
    let (t, c0) = (Instant::now(), cpu());
    f.await;
    (t.elapsed(), cpu() - c0)
}

fn line(what: &str, n: usize, (wall, cpu): (Duration, Duration)) -> (f64, f64) {
    let rate = n as f64 / wall.as_secs_f64();
    let us = cpu.as_secs_f64() * 1e6 / n as f64;
    println!("  {what:<14} {rate:>10.0} events/s {us:>7.1} µs CPU/event");
    (rate, us)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

type Results = BTreeMap<&'static str, (Vec<f64>, Vec<f64>)>;

/// One measurement of run `i` (0 client, 1 client atomic, 2 sink, 3 sink plain) into a
/// fresh stream; the stream's name.
fn measure(
    c: &Cluster,
    rt: &tokio::runtime::Runtime,
    i: usize,
    n: usize,
    body: usize,
    r: &mut Results,
) -> String {
    let url = c.url();
    let s = stream(c);
    let (name, m) = rt.block_on(async {
        match i {
            0 => (
                "client",
                timed(client(&url, &format!("{s}.x"), n, body, false)).await,
            ),
            1 => (
                "client atomic",
                timed(client(&url, &format!("{s}.x"), n, body, true)).await,
            ),
            2 => ("sink", sink(&sink_conf(&url, &s, n, true), n, body).await),
            _ => (
                "sink plain",
                sink(&sink_conf(&url, &s, n, false), n, body).await,
            ),
        }
    });
    let (rate, us) = line(name, n, m);
    let e = r.entry(name).or_default();
    e.0.push(rate);
    e.1.push(us);
    s
}

/// The medians and the sink's ratios.
fn report(r: &Results) {
    println!(" medians:");
    for (name, (rates, us)) in r {
        println!(
            "  {name:<14} {:>10.0} events/s {:>7.1} µs CPU/event",
            median(rates.clone()),
            median(us.clone())
        );
    }
    let rate = |k: &str| median(r[k].0.clone());
    let cpu = |k: &str| median(r[k].1.clone());
    println!(
        " sink ÷ client: {:.2} events/s, {:.2} CPU/event; sink ÷ client atomic: {:.2}, {:.2}",
        rate("sink") / rate("client"),
        cpu("sink") / cpu("client"),
        rate("sink") / rate("client atomic"),
        cpu("sink") / cpu("client atomic")
    );
}

/// Rounds of the library's two consumers (one `AckAll` per batch; an explicit acknowledgement
/// of each message after each batch) and the nats source over `stream`, alternating their
/// order: the source as configured by default (`ackPolicy = explicit`) and with each
/// `|`-separated variant of `SLUICE_NATS_BENCH_SOURCE_KEYS` (`key = value` pairs separated by
/// `;`; default: `ackPolicy = all`). Each source is set beside the consumer that acknowledges
/// as it does.
fn consume_rounds(
    c: &Cluster,
    rt: &tokio::runtime::Runtime,
    stream: &str,
    n: usize,
    rounds: usize,
) {
    let keys = std::env::var("SLUICE_NATS_BENCH_SOURCE_KEYS");
    let mut variants = vec![String::new()];
    variants.extend(
        keys.as_deref()
            .unwrap_or("ackPolicy = all")
            .split('|')
            .map(|v| {
                v.split(';')
                    .filter(|kv| !kv.trim().is_empty())
                    .map(|kv| format!("a.sources.r.{}\n", kv.trim()))
                    .collect::<String>()
            }),
    );
    let mut r: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..variants.len() + 2).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (url, s0) = (c.url(), consume::servers_cpu());
            let (name, m) = if i < 2 {
                let explicit = i == 1;
                let who = format!("bench{round}e{i}");
                let m = rt.block_on(consume::consume(&url, stream, &who, n, explicit));
                (baseline(explicit).to_owned(), m)
            } else {
                let who = format!("benchsrc{round}v{i}");
                let extra = &variants[i - 2];
                let dir = tempfile::tempdir().unwrap();
                let m = rt.block_on(consume::source(&url, stream, &who, n, extra, dir.path()));
                let keys = extra.replace("a.sources.r.", "").replace('\n', " ");
                (format!("source {}", keys.trim()), m)
            };
            let servers = consume::servers_cpu() - s0;
            let (rate, us) = line(&name, n, m);
            println!(
                "  {:<14} servers {:.1} µs CPU/event",
                "",
                servers.as_secs_f64() * 1e6 / n as f64
            );
            let e = r.entry(name).or_default();
            e.0.push(rate);
            e.1.push(us);
        }
    }
    for (name, (rates, us)) in &r {
        let all = name.contains("ackPolicy = all");
        let base = if name.starts_with("source") {
            baseline(!all)
        } else {
            name.as_str()
        };
        let of = median(r[base].0.clone());
        println!(
            " median {name}: {:.0} events/s {:.1} µs CPU/event, {:.2} of {base}",
            median(rates.clone()),
            median(us.clone()),
            median(rates.clone()) / of
        );
    }
}

/// The name of the library's consumer that acknowledges explicitly or with `AckAll`.
fn baseline(explicit: bool) -> &'static str {
    if explicit {
        "client consume explicit"
    } else {
        "client consume all"
    }
}

fn main() {
    let Some(c) = cluster() else { return };
    let n = env_usize("SLUICE_NATS_BENCH_N", 20_000);
    let rounds = env_usize("SLUICE_NATS_BENCH_ROUNDS", 3);
    let only_source = std::env::var("SLUICE_NATS_BENCH_ONLY").is_ok_and(|v| v == "source");
    let bodies: Vec<usize> = match std::env::var("SLUICE_NATS_BENCH_BODY") {
        Ok(v) => vec![v.parse().unwrap()],
        Err(_) => vec![200, 1024],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for body in bodies {
        println!("NATS: N = {n}, {body} B bodies, batches of {BATCH}, {rounds} rounds (R3, sync_interval always)");
        if only_source {
            let s = stream(c);
            rt.block_on(client(&c.url(), &format!("{s}.x"), n, body, false));
            consume_rounds(c, &rt, &s, n, rounds);
            continue;
        }
        let mut r = Results::new();
        let mut client_stream = String::new();
        for round in 0..rounds {
            let mut order = vec![0, 1, 2, 3];
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let s = measure(c, &rt, i, n, body, &mut r);
                if i == 0 {
                    client_stream = s;
                }
            }
        }
        report(&r);
        consume_rounds(c, &rt, &client_stream, n, rounds);
    }
}
