//! Kafka throughput, Sluice against the client library on the same broker in the same run
//! (docs/performance-findings.md, "Kafka"):
//!
//! 1. librdkafka's own producer: N records of 1 KiB, all sent then all awaited;
//! 2. the `kafka` sink: the same records taken from a memory channel by the sink runner
//!    (`flumeBatchSize = 1000`), from the first take to the last commit;
//! 3. for reference, librdkafka's own producer the way an at-least-once sink must use it:
//!    batches of 1000, each awaited before the batch two after it is sent (two in flight),
//!    and each awaited before the next is sent (one in flight: what the sink did before it
//!    kept two batches in flight);
//! 4. librdkafka's own consumer: the N records of (1) read back, first record to last;
//! 5. `kafka` source -> memory channel -> `null` sink: the same records, first event received
//!    to the last one drained by the null sink.
//!
//! Every producer gets the same librdkafka settings: `acks=all` plus
//! `SLUICE_KAFKA_BENCH_PRODUCER` (`key=value,key=value`, e.g. `linger.ms=10`), the rest
//! librdkafka's defaults (printed). (1)-(3) run `SLUICE_KAFKA_BENCH_ROUNDS` times (default
//! 3), the order alternating between rounds, each into a fresh topic; the ratio printed is
//! the median of the rounds' ratios. (4)-(5) run once; `SLUICE_KAFKA_BENCH_CONSUME=0` skips
//! them. `SLUICE_KAFKA_BENCH_SINK_ONLY=1` runs only (2), for a profile (`perf record -g`).
//!
//! `cargo bench --bench kafka` (N = `SLUICE_KAFKA_BENCH_N`, default 100000); the broker is
//! tansu on loopback, or `SLUICE_KAFKA_BOOTSTRAP`.

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
use support::kafka_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_support::{unique, Broker};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use sluice::agent::channel::{put_batch, AgentChannel};
use sluice::agent::metrics::CounterGroup;
use sluice::agent::processor::SinkPolicy;
use sluice::agent::router::ChannelProcessor;
use sluice::agent::sink::runner::{self, SinkUnit};
use sluice::agent::source::SourceCtx;
use sluice::agent::topology::{load, AgentConfig};
use sluice_core::Event;

const BODY_BYTES: usize = 1024;
const BATCH: usize = 1000;

/// The producer settings both sides get: `acks=all` and `SLUICE_KAFKA_BENCH_PRODUCER`.
fn producer_settings() -> Vec<(String, String)> {
    let mut out = vec![("acks".to_owned(), "all".to_owned())];
    let extra = std::env::var("SLUICE_KAFKA_BENCH_PRODUCER").unwrap_or_default();
    for kv in extra.split(',').filter(|s| !s.trim().is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .expect("SLUICE_KAFKA_BENCH_PRODUCER: key=value,...");
        out.retain(|(x, _)| x != k.trim());
        out.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    out
}

/// The client's producer configuration: the broker and [`producer_settings`].
fn client_config(b: &Broker) -> ClientConfig {
    let mut c = b.config();
    for (k, v) in producer_settings() {
        c.set(k, v);
    }
    c
}

fn conf(b: &Broker, topic_in: &str, topic_out: &str, n: usize) -> AgentConfig {
    let producer: String = producer_settings()
        .iter()
        .map(|(k, v)| format!("a.sinks.k.kafka.producer.{k} = {v}\n"))
        .collect();
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k n\n\
         a.sources.r.type = kafka\na.sources.r.channels = c\n\
         a.sources.r.kafka.bootstrap.servers = {bs}\na.sources.r.kafka.topics = {topic_in}\n\
         a.sources.r.kafka.consumer.group.id = {g}\n\
         a.channels.c.type = memory\na.channels.c.capacity = {n}\n\
         a.channels.c.transactionCapacity = 1000\na.channels.c.byteCapacity = 0\n\
         a.sinks.k.type = kafka\na.sinks.k.channel = c\n\
         a.sinks.k.kafka.bootstrap.servers = {bs}\na.sinks.k.kafka.topic = {topic_out}\n\
         a.sinks.k.flumeBatchSize = {BATCH}\n{producer}\
         a.sinks.n.type = null\na.sinks.n.channel = c\na.sinks.n.batchSize = 1000\n",
        bs = b.bootstrap,
        g = unique("bench")
    );
    let l = load(&text, "a", &[]);
    l.config.unwrap_or_else(|| panic!("{:?}", l.problems))
}

/// librdkafka's own producer: N records, with at most `batches_in_flight` batches of
/// [`BATCH`] records unacknowledged (`None`: all N at once, awaited at the end).
async fn client_produce(
    b: &Broker,
    topic: &str,
    n: usize,
    batches_in_flight: Option<usize>,
) -> Duration {
    let p: FutureProducer = client_config(b).create().unwrap();
    let body = vec![b'x'; BODY_BYTES];
    let t = Instant::now();
    let mut batches: std::collections::VecDeque<Vec<DeliveryFuture>> = Default::default();
    let mut fs = Vec::with_capacity(n);
    for i in 0..n {
        let mut r: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(&body);
        loop {
            match p.send_result(r) {
                Ok(f) => {
                    fs.push(f);
                    break;
                }
                Err((_, back)) => {
                    r = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        if let Some(w) = batches_in_flight {
            if (i + 1) % BATCH == 0 {
                batches.push_back(std::mem::take(&mut fs));
                while batches.len() >= w {
                    await_all(batches.pop_front().unwrap()).await;
                }
            }
        }
    }
    batches.push_back(fs);
    for batch in batches {
        await_all(batch).await;
    }
    t.elapsed()
}

async fn await_all(fs: Vec<DeliveryFuture>) {
    for f in fs {
        f.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

async fn client_consume(b: &Broker, topic: &str, n: usize) -> Duration {
    let c: StreamConsumer = b
        .config()
        .set("group.id", unique("bench-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let mut t0 = None;
    for _ in 0..n {
        let m = tokio::time::timeout(Duration::from_secs(60), c.recv())
            .await
            .expect("records within 60 s")
            .unwrap();
        drop(m);
        t0.get_or_insert_with(Instant::now);
    }
    t0.map(|t| t.elapsed()).unwrap_or_default()
}

async fn wait_count(c: &CounterGroup, name: &str, n: u64) -> Instant {
    let end = Instant::now() + Duration::from_secs(300);
    while c.get(name) < n {
        assert!(Instant::now() < end, "{name} stuck at {}", c.get(name));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Instant::now()
}

async fn sluice_sink(cfg: &AgentConfig, n: usize) -> Duration {
    let ch: Arc<dyn AgentChannel> = cfg.channels["c"].kind.open("c").await.unwrap();
    let body = vec![b'x'; BODY_BYTES];
    for _ in 0..n / BATCH {
        put_batch(&*ch, (0..BATCH).map(|_| Event::new(body.clone())).collect())
            .await
            .unwrap();
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
    let t = Instant::now();
    let task = tokio::spawn(runner::run(
        "k".into(),
        BTreeMap::from([("k".to_owned(), unit)]),
        SinkPolicy::Default("k".into()),
        stop,
    ));
    let done = wait_count(
        &counters,
        "EventDrainSuccessCount",
        (n / BATCH * BATCH) as u64,
    )
    .await;
    stop_tx.stop();
    let _ = task.await;
    done - t
}

async fn sluice_source(cfg: &AgentConfig, n: usize) -> Duration {
    let ch: Arc<dyn AgentChannel> = cfg.channels["c"].kind.open("c").await.unwrap();
    let channels = BTreeMap::from([("c".to_owned(), ch.clone())]);
    let router = Arc::new(ChannelProcessor::new(&cfg.sources["r"], &channels).unwrap());
    let (stop_tx, stop) = sluice::agent::stop::channel();
    let src_counters = CounterGroup::source();
    let ctx = SourceCtx {
        name: "r".into(),
        router,
        counters: src_counters.clone(),
        stop: stop.clone(),
        alarms: Default::default(),
        ready: Default::default(),
    };
    let src = tokio::spawn(cfg.sources["r"].kind.clone().run(ctx));
    let kind = &cfg.sinks["n"].kind;
    let sink_counters = CounterGroup::sink();
    let unit = SinkUnit::new(
        kind.build("n"),
        ch,
        kind.batch_size(),
        sink_counters.clone(),
        sluice::agent::sink::poison::PoisonHandler::new("n", None),
    );
    let sink = tokio::spawn(runner::run(
        "n".into(),
        BTreeMap::from([("n".to_owned(), unit)]),
        SinkPolicy::Default("n".into()),
        stop,
    ));
    let t0 = wait_count(&src_counters, "EventReceivedCount", 1).await;
    let t1 = wait_count(&sink_counters, "EventDrainSuccessCount", n as u64).await;
    stop_tx.stop();
    let _ = src.await;
    let _ = sink.await;
    t1 - t0
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One round of the produce side (client all at once, sink, client with 2 and 1 batches in
/// flight; reversed on odd rounds), printed: the sink's rate over the client's, and the topic
/// the client filled.
fn one_round(b: &Broker, rt: &tokio::runtime::Runtime, round: usize, n: usize) -> (f64, String) {
    let topics: Vec<String> = ["bench-client", "bench-sink", "bench-win2", "bench-win1"]
        .iter()
        .map(|p| unique(p))
        .collect();
    for t in &topics {
        b.create_topic(t, 4);
    }
    let cfg = conf(b, "unused", &topics[1], n);
    // Rates of: client (all at once), sink, client 2 batches in flight, 1 batch.
    let mut r = [0.0f64; 4];
    let order: [usize; 4] = if round % 2 == 0 {
        [0, 1, 2, 3]
    } else {
        [3, 2, 1, 0]
    };
    rt.block_on(async {
        for i in order {
            let d = match i {
                0 => client_produce(b, &topics[0], n, None).await,
                1 => sluice_sink(&cfg, n).await,
                2 => client_produce(b, &topics[2], n, Some(2)).await,
                _ => client_produce(b, &topics[3], n, Some(1)).await,
            };
            r[i] = rate(n, d);
        }
    });
    let [cp, sp, w2, w1] = r;
    println!(
        "  round {round}: librdkafka producer {cp:>8.0} rec/s | kafka sink (flumeBatchSize \
         {BATCH}) {sp:>8.0} rec/s = {:.2} of the client | client with 2 batches of {BATCH} \
         in flight {w2:>8.0} rec/s = {:.2} | with 1 batch {w1:>8.0} rec/s = {:.2}",
        sp / cp,
        w2 / cp,
        w1 / cp
    );
    (sp / cp, topics[0].clone())
}

/// The consume side: librdkafka's consumer, then the kafka source, on the `topic` a round
/// filled; printed.
fn consume_side(b: &Broker, rt: &tokio::runtime::Runtime, topic: &str, n: usize) {
    let cfg = conf(b, topic, "unused", n);
    rt.block_on(async {
        let cc = client_consume(b, topic, n).await;
        let sc = sluice_source(&cfg, n).await;
        let (cc, sc) = (rate(n, cc), rate(n, sc));
        println!("  librdkafka consumer:                    {cc:>10.0} records/s");
        println!(
            "  kafka source -> memory -> null:         {sc:>10.0} records/s  = {:.2} of the client",
            sc / cc
        );
    });
}

fn main() {
    let n = env_usize("SLUICE_KAFKA_BENCH_N", 100_000).max(BATCH) / BATCH * BATCH;
    let rounds = env_usize("SLUICE_KAFKA_BENCH_ROUNDS", 3).max(1);
    let consume = std::env::var("SLUICE_KAFKA_BENCH_CONSUME").map_or(true, |v| v != "0");
    let sink_only = std::env::var("SLUICE_KAFKA_BENCH_SINK_ONLY").is_ok_and(|v| v == "1");
    let tmp = tempfile::tempdir().unwrap();
    let b = Broker::start(tmp.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "kafka bench: {n} records of {BODY_BYTES} B, broker {}, {rounds} round(s)",
        b.bootstrap
    );
    println!(
        "  producer settings on both sides: {:?} (librdkafka defaults otherwise: \
         linger.ms=5, batch.num.messages=10000, batch.size=1000000, compression none, \
         max.in.flight=1000000, queue.buffering.max.messages=100000)",
        producer_settings()
    );
    if sink_only {
        let topic = unique("bench-sink");
        b.create_topic(&topic, 4);
        let cfg = conf(&b, "unused", &topic, n);
        let sp = rate(n, rt.block_on(sluice_sink(&cfg, n)));
        println!("  kafka sink only: {sp:.0} rec/s");
        return;
    }
    let mut ratios = Vec::new();
    let mut first_topic = None;
    for round in 0..rounds {
        let (ratio, client_topic) = one_round(&b, &rt, round, n);
        ratios.push(ratio);
        first_topic.get_or_insert(client_topic);
    }
    println!(
        "  kafka sink / librdkafka producer, median of {rounds}: {:.2}",
        median(ratios)
    );
    if !consume {
        return;
    }
    consume_side(&b, &rt, &first_topic.unwrap(), n);
}
