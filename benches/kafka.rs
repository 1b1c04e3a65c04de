//! Kafka throughput, Sluice against the client library on the same broker in the same run
//! (docs/performance.md, "Kafka"):
//!
//! 1. librdkafka's own producer: N records of 1 KiB, `acks=all`, all sent then all awaited;
//! 2. the `kafka` sink: the same records taken from a memory channel by the sink runner
//!    (`flumeBatchSize = 1000`, `acks = all`), from the first take to the last commit;
//! 3. librdkafka's own consumer: the N records of (1) read back, first record to last;
//! 4. `kafka` source -> memory channel -> `null` sink: the same records, first event received
//!    to the last one drained by the null sink.
//!
//! `cargo bench --bench kafka` (N = `SLUICE_KAFKA_BENCH_N`, default 100000); the broker is
//! tansu on loopback, or `SLUICE_KAFKA_BOOTSTRAP`.

#[path = "../tests/kafka_support/mod.rs"]
mod kafka_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_support::{unique, Broker};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice::agent::channel::{put_batch, AgentChannel};
use sluice::agent::config::{load, AgentConfig};
use sluice::agent::metrics::CounterGroup;
use sluice::agent::processor::SinkPolicy;
use sluice::agent::router::ChannelProcessor;
use sluice::agent::sink::runner::{self, SinkUnit};
use sluice::agent::sink::Sink;
use sluice::agent::source::{self, SourceCtx};
use sluice_core::Event;

const BODY_BYTES: usize = 1024;

fn conf(b: &Broker, topic_in: &str, topic_out: &str, n: usize) -> AgentConfig {
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k n\n\
         a.sources.r.type = kafka\na.sources.r.channels = c\n\
         a.sources.r.kafka.bootstrap.servers = {bs}\na.sources.r.kafka.topics = {topic_in}\n\
         a.sources.r.kafka.consumer.group.id = {g}\n\
         a.channels.c.type = memory\na.channels.c.capacity = {n}\n\
         a.channels.c.transactionCapacity = 1000\na.channels.c.byteCapacity = 0\n\
         a.sinks.k.type = kafka\na.sinks.k.channel = c\n\
         a.sinks.k.kafka.bootstrap.servers = {bs}\na.sinks.k.kafka.topic = {topic_out}\n\
         a.sinks.k.flumeBatchSize = 1000\na.sinks.k.kafka.producer.acks = all\n\
         a.sinks.n.type = null\na.sinks.n.channel = c\na.sinks.n.batchSize = 1000\n",
        bs = b.bootstrap,
        g = unique("bench")
    );
    let l = load(&text, "a", &[]);
    l.config.unwrap_or_else(|| panic!("{:?}", l.problems))
}

async fn client_produce(b: &Broker, topic: &str, n: usize) -> Duration {
    let p: FutureProducer = b.config().set("acks", "all").create().unwrap();
    let body = vec![b'x'; BODY_BYTES];
    let t = Instant::now();
    let mut fs = Vec::with_capacity(n);
    for _ in 0..n {
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
    }
    for f in fs {
        f.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    t.elapsed()
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
    let ch: Arc<dyn AgentChannel> = sluice::agent::channel::open("c", &cfg.channels["c"].kind)
        .await
        .unwrap();
    let body = vec![b'x'; BODY_BYTES];
    for _ in 0..n / 1000 {
        put_batch(&*ch, (0..1000).map(|_| Event::new(body.clone())).collect())
            .await
            .unwrap();
    }
    let kind = &cfg.sinks["k"].kind;
    let counters = CounterGroup::sink();
    let unit = SinkUnit {
        sink: Sink::new("k", kind),
        channel: ch,
        batch_size: kind.batch_size(),
        counters: counters.clone(),
    };
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
        (n / 1000 * 1000) as u64,
    )
    .await;
    stop_tx.stop();
    let _ = task.await;
    done - t
}

async fn sluice_source(cfg: &AgentConfig, n: usize) -> Duration {
    let ch: Arc<dyn AgentChannel> = sluice::agent::channel::open("c", &cfg.channels["c"].kind)
        .await
        .unwrap();
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
    };
    let src = tokio::spawn(source::run(cfg.sources["r"].kind.clone(), ctx));
    let kind = &cfg.sinks["n"].kind;
    let sink_counters = CounterGroup::sink();
    let unit = SinkUnit {
        sink: Sink::new("n", kind),
        channel: ch,
        batch_size: kind.batch_size(),
        counters: sink_counters.clone(),
    };
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

fn main() {
    let n: usize = std::env::var("SLUICE_KAFKA_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
        .max(1000)
        / 1000
        * 1000;
    let tmp = tempfile::tempdir().unwrap();
    let b = Broker::start(tmp.path());
    let (t1, t2) = (unique("bench-client"), unique("bench-sink"));
    b.create_topic(&t1, 4);
    b.create_topic(&t2, 4);
    let cfg = conf(&b, &t1, &t2, n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cp = client_produce(&b, &t1, n).await;
        let sp = sluice_sink(&cfg, n).await;
        let cc = client_consume(&b, &t1, n).await;
        let sc = sluice_source(&cfg, n).await;
        let (cp, sp, cc, sc) = (rate(n, cp), rate(n, sp), rate(n, cc), rate(n, sc));
        println!(
            "kafka bench: {n} records of {BODY_BYTES} B, broker {}",
            b.bootstrap
        );
        println!("  librdkafka producer (acks=all):        {cp:>10.0} records/s");
        println!(
            "  kafka sink (flumeBatchSize 1000, all):  {sp:>10.0} records/s  = {:.2} of the client",
            sp / cp
        );
        println!("  librdkafka consumer:                    {cc:>10.0} records/s");
        println!(
            "  kafka source -> memory -> null:         {sc:>10.0} records/s  = {:.2} of the client",
            sc / cc
        );
    });
}
