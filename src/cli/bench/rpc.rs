//! `sluice bench --rpc avro|thrift`: RPC ingest through Sluice's avro or thrift client. With
//! `--target HOST:PORT` it drives a running source (Sluice's or Flume's); without, it starts an
//! agent in process (avro or thrift source on loopback -> `--channel memory|file` -> null
//! sink) and drives that,
//! so the figures cover client, source, channel and sink on the same cores. `--putters` is
//! the number of connections, each with one call in flight. Each connection resends one
//! prepared batch, so event generation costs nothing. The report is the channel bench's:
//! commits are calls and the latency is a call's round trip.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use sluice::agent::metrics::Registry;
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig, RpcError};
use sluice::agent::rpc::thrift_client::{ThriftClient, ThriftClientConfig, ThriftRpcError};
use sluice::agent::rpc::transport::{ClientSecurity, ClientTransport, Compression};
use sluice::agent::runtime::Agent;
use sluice::agent::topology as config;

use super::args::{BenchArgs, ChannelKind, RpcKind, Stop};
use super::payload::Payload;
use super::report::{Latency, PhaseReport, Rates, Report};
use super::{resources, scratch, table};

/// Longest call latency kept in the histogram (ns).
const LATENCY_NS_MAX: u64 = 600_000_000_000;
/// Pause after a FAILED answer (a full channel) before the batch is sent again.
const FAILED_PAUSE: Duration = Duration::from_millis(10);

/// One connection of either protocol.
enum Client {
    Avro(AvroClient),
    Thrift(ThriftClient),
}

/// A call answered other than `OK` (resent after a pause), or broken.
enum CallError {
    Status,
    Other(anyhow::Error),
}

impl Client {
    async fn connect(
        kind: RpcKind,
        target: &str,
        transport: &ClientTransport,
    ) -> anyhow::Result<Client> {
        Ok(match kind {
            RpcKind::Avro => Client::Avro(
                AvroClient::connect_with(target, transport, AvroClientConfig::default()).await?,
            ),
            RpcKind::Thrift => Client::Thrift(
                ThriftClient::connect_with(target, transport, ThriftClientConfig::default())
                    .await?,
            ),
        })
    }

    async fn append_batch(&mut self, events: &[sluice_core::Event]) -> Result<(), CallError> {
        match self {
            Client::Avro(c) => c.append_batch(events).await.map_err(|e| match e {
                RpcError::Status { .. } => CallError::Status,
                e => CallError::Other(anyhow::Error::new(e)),
            }),
            Client::Thrift(c) => c.append_batch(events).await.map_err(|e| match e {
                ThriftRpcError::Status { .. } => CallError::Status,
                e => CallError::Other(anyhow::Error::new(e)),
            }),
        }
    }
}

/// Runs `--rpc avro|thrift`.
pub fn run(args: &BenchArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(run_async(args))
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

async fn start_agent(
    args: &BenchArgs,
    dir: &std::path::Path,
    batch: usize,
) -> anyhow::Result<(Agent, String)> {
    let port = free_port()?;
    let tc = batch.max(100);
    let channel = match args.channel {
        ChannelKind::Memory => {
            format!("a1.channels.c1.type = memory\na1.channels.c1.capacity = {}\na1.channels.c1.transactionCapacity = {tc}\n", (tc * 200).max(100_000))
        }
        ChannelKind::File => {
            let mut s = format!(
                "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {}\na1.channels.c1.dataDirs = {}\na1.channels.c1.capacity = 10000000\na1.channels.c1.transactionCapacity = {tc}\n",
                dir.join("checkpoint").display(),
                dir.join("data").display()
            );
            for (k, v) in args.set_map()? {
                s.push_str(&format!("a1.channels.c1.{k} = {v}\n"));
            }
            s
        }
    };
    let mut security = String::new();
    if let Some(ks) = &args.tls_keystore {
        security.push_str(&format!(
            "a1.sources.r1.ssl = true\na1.sources.r1.keystore = {}\n",
            ks.display()
        ));
        if let Some(pw) = &args.tls_password {
            security.push_str(&format!("a1.sources.r1.keystore-password = {pw}\n"));
        }
    }
    if args.deflate.is_some() {
        security.push_str("a1.sources.r1.compression-type = deflate\n");
    }
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = {source}\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n{security}{channel}\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\na1.sinks.k1.batchSize = {tc}\n",
        source = args.rpc.unwrap_or(RpcKind::Avro).name()
    );
    let loaded = config::load(&text, "a1", &[]);
    let Some(cfg) = loaded.config else {
        bail!("bench agent configuration: {:?}", loaded.problems);
    };
    let agent = Agent::start(cfg, Arc::new(Registry::default()))
        .await
        .context("starting the in-process agent")?;
    Ok((agent, format!("127.0.0.1:{port}")))
}

/// The client's TLS (trusting any certificate) and deflate, as the bench's flags say.
fn client_transport(args: &BenchArgs) -> anyhow::Result<ClientTransport> {
    use sluice::agent::rpc::transport::settings::{TlsClientSettings, TlsVersions, Trust};
    let tls = args.tls_keystore.as_ref().map(|_| TlsClientSettings {
        trust: Trust::AllCerts,
        verify_hostname: false,
        versions: TlsVersions {
            tls12: true,
            tls13: true,
        },
        suites: None,
    });
    let compression = match args.deflate {
        None => Compression::None,
        Some(level) => Compression::Deflate { level },
    };
    ClientTransport::new(&ClientSecurity { tls, compression }).context("client TLS settings")
}

async fn run_async(args: &BenchArgs) -> anyhow::Result<i32> {
    let batch = args.batch.max(1);
    let connections = args.putters.max(1);
    let stop = args.stop()?;
    let payload = Payload::new(args.sizes()?, args.headers);
    let dir = scratch()?;
    let (agent, target) = match &args.target {
        Some(t) => (None, t.clone()),
        None => {
            let (a, t) = start_agent(args, &dir.0, batch).await?;
            (Some(a), t)
        }
    };
    let kind = args.rpc.unwrap_or(RpcKind::Avro);
    let transport = client_transport(args)?;
    let mut clients = Vec::new();
    for _ in 0..connections {
        let mut last = None;
        // The in-process source may take a moment to listen.
        for _ in 0..50 {
            match Client::connect(kind, &target, &transport).await {
                Ok(c) => {
                    last = Some(Ok(c));
                    break;
                }
                Err(e) => {
                    last = Some(Err(e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        match last {
            Some(Ok(c)) => clients.push(c),
            Some(Err(e)) => return Err(e).context("connecting"),
            None => bail!("connecting to {target}"),
        }
    }
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, LATENCY_NS_MAX, 3).context("histogram")?,
    ));
    let budget = match stop {
        Stop::Events(n) => n,
        Stop::Duration(_) => u64::MAX,
    };
    let claimed = Arc::new(AtomicU64::new(0));
    let usage0 = resources::now();
    let t0 = Instant::now();
    let deadline = match stop {
        Stop::Duration(d) => Some(t0 + d),
        Stop::Events(_) => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        let events: Vec<sluice_core::Event> = (0..batch as u64)
            .map(|k| payload.event(i as u64 * batch as u64 + k))
            .collect();
        let (sent, failed, hist, claimed) =
            (sent.clone(), failed.clone(), hist.clone(), claimed.clone());
        tasks.spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, LATENCY_NS_MAX, 3)
                .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let start = claimed.fetch_add(batch as u64, Ordering::Relaxed);
                if start >= budget {
                    break;
                }
                let n = (budget - start).min(batch as u64) as usize;
                loop {
                    let t = Instant::now();
                    match client.append_batch(&events[..n]).await {
                        Ok(()) => {
                            let _ = local.record(t.elapsed().as_nanos().max(1) as u64);
                            sent.fetch_add(n as u64, Ordering::Relaxed);
                            break;
                        }
                        Err(CallError::Status) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(FAILED_PAUSE).await;
                        }
                        Err(CallError::Other(e)) => return Err(e.context("appendBatch")),
                    }
                }
            }
            let _ = hist.lock().add(&local);
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("bench connection task")??;
    }
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let used = resources::now().since(&usage0);
    if let Some(a) = agent {
        a.shutdown().await;
    }
    let events = sent.load(Ordering::Relaxed);
    let h = hist.lock();
    let us = |ns: u64| ns as f64 / 1000.0;
    let latency = if h.is_empty() {
        Latency::default()
    } else {
        Latency {
            p50: us(h.value_at_quantile(0.5)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    };
    let payload_bytes: u64 = (0..batch as u64)
        .map(|i| payload.payload_bytes(i) as u64)
        .sum::<u64>()
        * events
        / batch as u64;
    let rates = Rates {
        events_per_sec: events as f64 / secs,
        payload_mb_per_sec: payload_bytes as f64 / secs / 1e6,
        disk_mb_per_sec: used.write_bytes as f64 / secs / 1e6,
        disk_read_bytes: used.read_bytes,
        tail_cache_hit_rate: None,
        commits_per_sec: h.len() as f64 / secs,
        fsyncs_per_sec: 0.0,
        commit_latency_us: latency,
        bytes_written_per_event: used.wchar as f64 / events.max(1) as f64,
        cpu_us_per_event: used.cpu.as_secs_f64() * 1e6 / events.max(1) as f64,
    };
    let channel = match (&args.target, args.channel) {
        (Some(_), _) => "remote".to_owned(),
        (None, ChannelKind::Memory) => format!("{} source -> memory", kind.name()),
        (None, ChannelKind::File) => format!("{} source -> file", kind.name()),
    };
    let report = Report {
        channel,
        workload: serde_json::json!({
            "rpc": kind.name(),
            "target": target,
            "in_process_agent": args.target.is_none(),
            "batch": batch,
            "connections": connections,
            "tls": args.tls_keystore.is_some(),
            "deflate_level": args.deflate,
            "event_size": args.event_size,
            "headers": args.headers,
            "failed_calls": failed.load(Ordering::Relaxed),
            "settings": args.set_map()?,
        }),
        rates,
        peak_rss_mb: used.peak_rss_bytes as f64 / 1e6,
        phases: vec![PhaseReport {
            phase: "rpc".into(),
            events_put: events,
            events_taken: 0,
            secs,
            rates,
            checkpoints: None,
            group_commit: None,
            segments_recycled: 0,
        }],
        verified: None,
        probe: None,
        vs_probe: None,
        reopen: None,
        load_average: super::report::load_average(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::text(&report));
    }
    drop(dir);
    Ok(0)
}
