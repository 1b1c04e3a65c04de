//! The client side of `sluice bench --rpc`: the connections (avro or thrift, with the
//! flags' TLS and deflate; otlp over cleartext gRPC with no compression: otlp_client.rs),
//! and the loop that drives them, one call in flight each, until the stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig, RpcError};
use sluice::agent::rpc::thrift_client::{ThriftClient, ThriftClientConfig, ThriftRpcError};
use sluice::agent::rpc::transport::{ClientSecurity, ClientTransport, Compression};

use super::args::{BenchArgs, RpcKind, Stop};
use super::otlp_client::OtlpClient;
use super::payload::Payload;

/// Longest call latency kept in the histogram (ns).
const LATENCY_NS_MAX: u64 = 600_000_000_000;
/// Pause after a FAILED answer (a full channel) before the batch is sent again.
const FAILED_PAUSE: Duration = Duration::from_millis(10);

/// One connection of any protocol.
pub enum Client {
    Avro(AvroClient),
    Thrift(ThriftClient),
    Otlp(Box<OtlpClient>),
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
            RpcKind::Otlp => Client::Otlp(Box::new(OtlpClient::connect(target).await?)),
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
            Client::Otlp(c) => match c.export(events).await {
                Ok(_) => Ok(()),
                Err(s) if s.code() == tonic::Code::Unavailable => Err(CallError::Status),
                Err(s) => Err(CallError::Other(anyhow::anyhow!("otlp export: {s}"))),
            },
        }
    }
}

/// The client's TLS (trusting any certificate) and deflate, as the bench's flags say.
pub fn client_transport(args: &BenchArgs) -> anyhow::Result<ClientTransport> {
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

pub async fn connect_all(
    kind: RpcKind,
    target: &str,
    transport: &ClientTransport,
    connections: usize,
) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let mut last = None;
        // The in-process source may take a moment to listen.
        for _ in 0..50 {
            match Client::connect(kind, target, transport).await {
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
    Ok(clients)
}

/// What the connections achieved.
pub struct Driven {
    pub sent: u64,
    pub failed: u64,
    pub hist: Histogram<u64>,
    pub secs: f64,
}

/// What the connections share: the counters, the latencies, the events claimed so far, and
/// when to stop (a budget of events, or a deadline).
struct Shared {
    sent: AtomicU64,
    failed: AtomicU64,
    hist: Mutex<Histogram<u64>>,
    claimed: AtomicU64,
    budget: u64,
    deadline: Option<Instant>,
    batch: usize,
}

/// Every connection sends its prepared batch, one call in flight, until the stop.
pub async fn drive(
    clients: Vec<Client>,
    payload: &Payload,
    batch: usize,
    stop: Stop,
) -> anyhow::Result<Driven> {
    let t0 = Instant::now();
    let shared = Arc::new(Shared {
        sent: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        hist: Mutex::new(
            Histogram::<u64>::new_with_bounds(1, LATENCY_NS_MAX, 3).context("histogram")?,
        ),
        claimed: AtomicU64::new(0),
        budget: match stop {
            Stop::Events(n) => n,
            Stop::Duration(_) => u64::MAX,
        },
        deadline: match stop {
            Stop::Duration(d) => Some(t0 + d),
            Stop::Events(_) => None,
        },
        batch,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let events: Vec<sluice_core::Event> = (0..batch as u64)
            .map(|k| payload.event(i as u64 * batch as u64 + k))
            .collect();
        let ids = payload.upstream_ids();
        tasks.spawn(connection(client, events, ids, shared.clone()));
    }
    while let Some(r) = tasks.join_next().await {
        r.context("bench connection task")??;
    }
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let hist = shared.hist.lock().clone();
    Ok(Driven {
        sent: shared.sent.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
        hist,
        secs,
    })
}

/// One connection: claims a batch of the budget at a time and sends it (numbered afresh
/// when `ids` is an upstream origin) until the budget or the deadline is spent; a call
/// answered with a failure status is counted and resent after a pause.
async fn connection(
    mut client: Client,
    mut events: Vec<sluice_core::Event>,
    ids: Option<u64>,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let batch = shared.batch as u64;
    let mut local = Histogram::<u64>::new_with_bounds(1, LATENCY_NS_MAX, 3)
        .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
    loop {
        if shared.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let start = shared.claimed.fetch_add(batch, Ordering::Relaxed);
        if start >= shared.budget {
            break;
        }
        let n = (shared.budget - start).min(batch) as usize;
        if let Some(origin) = ids {
            // Fresh ids per call, as an upstream's next batch has (a resent call
            // below keeps them: the receiver drops what it committed).
            Payload::number(&mut events[..n], origin, start);
        }
        loop {
            let t = Instant::now();
            match client.append_batch(&events[..n]).await {
                Ok(()) => {
                    let _ = local.record(t.elapsed().as_nanos().max(1) as u64);
                    shared.sent.fetch_add(n as u64, Ordering::Relaxed);
                    break;
                }
                Err(CallError::Status) => {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(FAILED_PAUSE).await;
                }
                Err(CallError::Other(e)) => return Err(e.context("appendBatch")),
            }
        }
    }
    let _ = shared.hist.lock().add(&local);
    Ok(())
}
