//! The consuming half of benches/nats.rs: an async-nats pull consumer that fetches `BATCH`
//! messages and acknowledges the batch with one `AckAll` acknowledgement of its last message
//! (the baseline the issue names: the same library's consumer acking after each batch), and
//! the `nats` source into a memory channel drained by a `null` sink. Both read one stream
//! filled once by the client publisher; each run gets a consumer of its own, the clock runs
//! from before the connection to the last event, and the rounds alternate their order.

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

/// The library's consumer: `n` messages of `stream` through durable consumer `name`.
pub async fn consume(url: &str, stream: &str, name: &str, n: usize) -> (Duration, Duration) {
    let (t, c0) = (Instant::now(), cpu());
    let nc = async_nats::connect(addrs(url)).await.unwrap();
    let js = async_nats::jetstream::new(nc.clone());
    let s = js.get_stream(stream).await.unwrap();
    let cfg = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some(name.into()),
        ack_policy: async_nats::jetstream::consumer::AckPolicy::All,
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
        let mut last = None;
        while let Some(Ok(m)) = b.next().await {
            got += 1;
            last = Some(m);
        }
        if let Some(m) = last {
            m.ack_with(async_nats::jetstream::AckKind::Ack)
                .await
                .unwrap();
        }
    }
    (t.elapsed(), cpu() - c0)
}

/// The nats source (consumer `name`, `extra` keys) into a memory channel drained by a null
/// sink: from the start to the `n`-th event taken.
pub async fn source(
    url: &str,
    stream: &str,
    name: &str,
    n: usize,
    extra: &str,
) -> (Duration, Duration) {
    let text = format!(
        "a.sources = r\na.channels = c\na.sinks = k\n\
         a.sources.r.type = nats\na.sources.r.channels = c\na.sources.r.url = {url}\n\
         a.sources.r.stream = {stream}\na.sources.r.consumer = {name}\na.sources.r.batchSize = {BATCH}\n\
         {extra}\
         a.channels.c.type = memory\na.channels.c.capacity = {n}\n\
         a.channels.c.transactionCapacity = 1000\na.channels.c.byteCapacity = 0\n\
         a.sinks.k.type = null\na.sinks.k.channel = c\na.sinks.k.batchSize = 1000\n"
    );
    let l = load(&text, "a", &[]);
    let cfg = l.config.unwrap_or_else(|| panic!("{:?}", l.problems));
    let (t, c0) = (Instant::now(), cpu());
    let ch: Arc<dyn AgentChannel> = cfg.channels["c"].kind.open("c").await.unwrap();
    let kind = &cfg.sinks["k"].kind;
    let counters = CounterGroup::sink();
    let unit = SinkUnit {
        sink: kind.build("k"),
        channel: ch.clone(),
        batch_size: kind.batch_size(),
        counters: counters.clone(),
        poison: sluice::agent::sink::poison::PoisonHandler::new("k", None),
    };
    let (stop_tx, stop) = sluice::agent::stop::channel();
    let sinks = tokio::spawn(runner::run(
        "k".into(),
        BTreeMap::from([("k".to_owned(), unit)]),
        SinkPolicy::Default("k".into()),
        stop.clone(),
    ));
    let channels = BTreeMap::from([("c".to_owned(), ch)]);
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
