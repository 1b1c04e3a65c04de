//! The consuming half of benches/nats.rs: async-nats pull consumers that fetch `BATCH`
//! messages and acknowledge after each batch, either with one `AckAll` acknowledgement of its
//! last message or with an explicit acknowledgement of each message (the baselines the issue
//! names: the same library's consumer acking after each batch, one per `ackPolicy`), and the
//! `nats` source into a file channel (`SLUICE_NATS_BENCH_CHANNEL=memory`: a memory channel)
//! drained by a `null` sink. All read one stream filled once by the client publisher; each run
//! gets a consumer of its own, the clock runs from before the connection to the last event,
//! and the rounds alternate their order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sluice::agent::channel::AgentChannel;
use sluice::agent::metrics::CounterGroup;
use sluice::agent::processor::SinkPolicy;
use sluice::agent::router::ChannelProcessor;
use sluice::agent::sink::runner::{self, SinkUnit};
use sluice::agent::source::SourceCtx;
use sluice::agent::topology::load;

use super::{addrs, cpu, wait_count, BATCH};

/// The library's consumer: `n` messages of `stream` through durable consumer `name`,
/// acknowledged after each batch: with `explicit` each message, else one `AckAll` of the last.
pub async fn consume(
    url: &str,
    stream: &str,
    name: &str,
    n: usize,
    explicit: bool,
) -> (Duration, Duration) {
    use async_nats::jetstream::consumer::AckPolicy;
    let (t, c0) = (Instant::now(), cpu());
    let nc = async_nats::connect(addrs(url)).await.unwrap();
    let js = async_nats::jetstream::new(nc.clone());
    let s = js.get_stream(stream).await.unwrap();
    let cfg = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some(name.into()),
        ack_policy: if explicit {
            AckPolicy::Explicit
        } else {
            AckPolicy::All
        },
        ..Default::default()
    };
    let c = s.get_or_create_consumer(name, cfg).await.unwrap();
    let mut got = 0;
    while got < n {
        // A 503 (no responders) while the new consumer's leader is elected: fetch again.
        let Ok(mut b) = c.fetch().max_messages(BATCH).messages().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(Ok(m)) = b.next().await {
            got += 1;
            batch.push(m);
        }
        // Acknowledged once the batch is in, as the source acknowledges after its commit.
        let acked = if explicit {
            &batch[..]
        } else {
            &batch[batch.len().saturating_sub(1)..]
        };
        for m in acked {
            m.ack().await.unwrap();
        }
    }
    (t.elapsed(), cpu() - c0)
}

/// The nats source (consumer `name`, `extra` keys) into a file channel under `dir` (a memory
/// channel with `SLUICE_NATS_BENCH_CHANNEL=memory`) drained by a null sink: from the start to
/// the `n`-th event taken.
pub async fn source(
    url: &str,
    stream: &str,
    name: &str,
    n: usize,
    extra: &str,
    dir: &std::path::Path,
) -> (Duration, Duration) {
    let channel = if std::env::var("SLUICE_NATS_BENCH_CHANNEL").is_ok_and(|v| v == "memory") {
        format!("a.channels.c.type = memory\na.channels.c.capacity = {n}\na.channels.c.byteCapacity = 0\n")
    } else {
        let d = dir.display();
        format!(
            "a.channels.c.type = file\na.channels.c.capacity = {n}\n\
             a.channels.c.checkpointDir = {d}/ck\na.channels.c.dataDirs = {d}/data\n"
        )
    };
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k\n\
         a.sources.r.type = nats\na.sources.r.channels = c\na.sources.r.url = {url}\n\
         a.sources.r.stream = {stream}\na.sources.r.consumer = {name}\na.sources.r.batchSize = {BATCH}\n\
         {extra}\
         {channel}a.channels.c.transactionCapacity = 1000\n\
         a.sinks.k.type = null\na.sinks.k.channel = c\na.sinks.k.batchSize = 1000\n"
    );
    let l = load(&text, "a", &[]);
    let cfg = l.config.unwrap_or_else(|| panic!("{:?}", l.problems));
    let (t, c0) = (Instant::now(), cpu());
    let ch: Arc<dyn AgentChannel> = cfg.channels["c"].kind.open("c").await.unwrap();
    let kind = &cfg.sinks["k"].kind;
    let counters = CounterGroup::sink();
    let unit = SinkUnit::new(
        kind.build("k"),
        ch.clone(),
        kind.batch_size(),
        counters.clone(),
        sluice::agent::sink::poison::PoisonHandler::new("k", None),
    );
    let (stop_tx, stop) = sluice::agent::stop::channel();
    let sinks = tokio::spawn(runner::run(
        "k".into(),
        BTreeMap::from([("k".to_owned(), unit)]),
        SinkPolicy::Default("k".into()),
        stop.clone(),
    ));
    let channels = BTreeMap::from([("c".to_owned(), ch.clone())]);
    let router = Arc::new(ChannelProcessor::new(&cfg.sources["r"], &channels).unwrap());
    let ctx = SourceCtx {
        name: "r".into(),
        router,
        counters: CounterGroup::source(),
        stop,
        alarms: Default::default(),
        ready: Default::default(),
    };
    let src = tokio::spawn(cfg.sources["r"].kind.clone().run(ctx));
    wait_count(&counters, "EventDrainSuccessCount", n as u64).await;
    let out = (t.elapsed(), cpu() - c0);
    stop_tx.stop();
    let _ = src.await;
    let _ = sinks.await;
    let _ = ch.close().await;
    out
}

/// The user + system CPU time of this process's children (the nats-servers), from
/// `/proc/<pid>/stat` (clock ticks of 10 ms).
pub fn servers_cpu() -> Duration {
    let me = std::process::id().to_string();
    let mut ticks = 0u64;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // After the ")" that ends the command name: state, ppid, ..., utime (14), stime (15).
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(1) == Some(&me.as_str()) {
            ticks += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ticks += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_millis(ticks * 10)
}
