//! One run of `sluice bench --rpc avro|thrift|otlp`: RPC ingest through Sluice's avro or
//! thrift client, or tonic's OTLP logs client. With `--target HOST:PORT` it drives a running source (Sluice's or Flume's);
//! without, it starts an agent in process (avro or thrift source on loopback -> `--channel
//! memory|file` -> null sink) and drives that, so the figures cover client, source, channel
//! and sink on the same cores. The agent and the client run on runtimes of their own, so the
//! receiver's CPU is the process's less the client threads' ([`CLIENT_THREAD`]). `--putters`
//! is the number of connections, each with one call in flight. Each connection resends one
//! prepared batch, so event generation costs nothing. The row is the channel bench's:
//! commits are calls and the latency is a call's round trip; fsyncs and group commit are the
//! in-process file channel's own counters (its commits: the source's puts and the sink's
//! takes).

use std::sync::Arc;

use anyhow::{bail, Context};
use sluice::agent::channel::AgentChannel;
use sluice::agent::metrics::Registry;
use sluice::agent::runtime::Agent;
use sluice::agent::topology as config;

use super::args::{BenchArgs, ChannelKind, RpcKind};
use super::channel_setup::scratch;
use super::payload::Payload;
use super::report::PhaseReport;
use super::resources;
use super::rpc_client::{client_transport, connect_all, drive};
use super::rpc_figures::{phase_report, Measured};

/// The in-process agent's channel.
const AGENT_CHANNEL: &str = "c1";

/// The name of the bench client's runtime threads, whose CPU is taken off the process's
/// to give the receiver's.
pub const CLIENT_THREAD: &str = "bench-client";

/// The runtimes of a run: the in-process agent's, and the client's (threads named
/// [`CLIENT_THREAD`]), so the receiver's CPU can be told apart from the client's.
pub struct Runtimes {
    agent: tokio::runtime::Runtime,
    client: tokio::runtime::Runtime,
}

impl Runtimes {
    /// Two runtimes of two workers each.
    pub fn new() -> anyhow::Result<Runtimes> {
        let build = |name: &str| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(name)
                .enable_all()
                .build()
                .context("starting a runtime")
        };
        Ok(Runtimes {
            agent: build("bench-agent")?,
            client: build(CLIENT_THREAD)?,
        })
    }
}

/// One RPC run.
pub struct RpcRound {
    /// Its row.
    pub phase: PhaseReport,
    /// Where the calls went.
    pub target: String,
    /// Calls answered other than OK.
    pub failed_calls: u64,
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
    let names: Vec<String> = (1..=args.sinks).map(|i| format!("k{i}")).collect();
    let mut sinks = String::new();
    for k in &names {
        sinks.push_str(&format!(
            "a1.sinks.{k}.type = null\na1.sinks.{k}.channel = c1\na1.sinks.{k}.batchSize = {tc}\n"
        ));
    }
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = {names}\n\
         a1.sources.r1.type = {source}\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n{security}{channel}{sinks}",
        names = names.join(" "),
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

/// The in-process agent's channel counters, when it is a file channel.
fn channel_stats(ch: &Option<Arc<dyn AgentChannel>>) -> Option<sluice_core::ChannelStats> {
    ch.as_ref().and_then(|c| c.file_stats())
}

/// The origin of the ids `--upstream-ids` events carry.
const UPSTREAM_ORIGIN: u64 = 0x5eed_0000_0000_0001;

/// Runs one RPC round: starts the in-process agent (unless `--target`), connects, drives the
/// calls, stops the agent.
pub fn round(args: &BenchArgs, rts: &Runtimes) -> anyhow::Result<RpcRound> {
    let batch = args.batch.max(1);
    let connections = args.putters.max(1);
    let stop = args.stop()?;
    let mut payload = Payload::new(args.sizes()?, args.headers);
    if args.upstream_ids {
        payload = payload.with_upstream_ids(UPSTREAM_ORIGIN);
    }
    let dir = scratch()?;
    let (agent, target) = match &args.target {
        Some(t) => (None, t.clone()),
        None => {
            let (a, t) = rts.agent.block_on(start_agent(args, &dir.0, batch))?;
            (Some(a), t)
        }
    };
    let channel = agent.as_ref().and_then(|a| a.channel(AGENT_CHANNEL));
    let kind = args.rpc.unwrap_or(RpcKind::Avro);
    if kind == RpcKind::Otlp && (args.tls_keystore.is_some() || args.deflate.is_some()) {
        bail!(
            "--rpc otlp runs cleartext gRPC without compression: drop --tls-keystore and --deflate"
        );
    }
    let transport = client_transport(args)?;
    let clients = rts
        .client
        .block_on(connect_all(kind, &target, &transport, connections))?;
    let stats0 = channel_stats(&channel);
    let usage0 = resources::now();
    let client0 = resources::threads_cpu_ns(CLIENT_THREAD);
    let driven = rts.client.block_on(drive(clients, &payload, batch, stop));
    let used = resources::now().since(&usage0);
    let client_cpu =
        resources::threads_cpu_since(&resources::threads_cpu_ns(CLIENT_THREAD), &client0);
    let stats1 = channel_stats(&channel);
    drop(channel);
    if let Some(a) = agent {
        rts.agent.block_on(a.shutdown());
    }
    drop(dir);
    let driven = driven?;
    let failed_calls = driven.failed;
    let measured = Measured {
        driven,
        used,
        client_cpu,
        stats: (stats0, stats1),
    };
    Ok(RpcRound {
        phase: phase_report(args, &payload, batch, measured),
        target,
        failed_calls,
    })
}
