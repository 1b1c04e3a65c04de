//! Command-line arguments of `sluice bench` and their parsing into a [`Plan`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

/// Arguments of `sluice bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Checkpoint directory of the benchmarked channel (default: a fresh temporary directory,
    /// removed afterwards).
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Comma-separated data directories (default: one fresh temporary directory).
    #[arg(long, value_delimiter = ',')]
    pub data_dirs: Vec<PathBuf>,
    /// Body size in bytes: `1024`, or a uniform range `256..4096` (both ends included).
    #[arg(long, default_value = "1024")]
    pub event_size: String,
    /// Headers per event (8-byte keys and values, as Flume's timestamp/host headers).
    #[arg(long, default_value_t = 2)]
    pub headers: usize,
    /// Events per transaction.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Concurrent putting threads.
    #[arg(long, default_value_t = 1)]
    pub putters: usize,
    /// Concurrent taking threads (take and mixed phases).
    #[arg(long, default_value_t = 1)]
    pub takers: usize,
    /// `put`, `take` (drain what is there), `both` (put, then take everything back and verify
    /// it) or `mixed` (putters and takers at once, verified).
    #[arg(long, default_value = "both")]
    pub phase: PhaseArg,
    /// How long the put side runs, e.g. `10s`, `500ms`, `2m` (instead of --events).
    #[arg(long, conflicts_with = "events")]
    pub duration: Option<String>,
    /// How many events the put side puts (default 100000 unless --duration is given).
    #[arg(long)]
    pub events: Option<u64>,
    /// `file` (the durable file channel) or `memory` (an in-process queue, the CPU ceiling).
    #[arg(long, default_value = "file")]
    pub channel: ChannelKind,
    /// Any file-channel key, e.g. `--set fsyncPerTransaction=false` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Only measure the first data directory's own limits with plain writes.
    #[arg(long)]
    pub probe: bool,
    /// Measure the directory's limits first and report the run as a fraction of them.
    #[arg(long)]
    pub with_probe: bool,
    /// Seconds each probe step runs.
    #[arg(long, default_value_t = 2.0)]
    pub probe_secs: f64,
    /// After the put side, time a reopen with the checkpoint and one without (full replay).
    #[arg(long)]
    pub reopen: bool,
    /// Drop the page cache before each timed reopen (needs root; warns otherwise).
    #[arg(long)]
    pub drop_caches: bool,
    /// Write a checkpoint every N ms while the workload runs and report the longest commit
    /// pause one caused.
    #[arg(long)]
    pub checkpoint_every_ms: Option<u64>,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Measure RPC ingest instead of a channel: `avro` or `thrift` (compact protocol) (see
    /// `--target`; `--putters` is the number of connections, `--channel` the in-process
    /// agent's channel).
    #[arg(long)]
    pub rpc: Option<RpcKind>,
    /// `HOST:PORT` of a running avro or thrift source; without it an agent is started in
    /// process (avro or thrift source -> `--channel` -> null sink).
    #[arg(long, requires = "rpc")]
    pub target: Option<String>,
    /// TLS on the RPC hop: the in-process source presents this keystore (PKCS12 or PEM);
    /// the client trusts any certificate (the bench measures the cost, not the trust).
    #[arg(long, requires = "rpc")]
    pub tls_keystore: Option<std::path::PathBuf>,
    /// The password of a PKCS12 `--tls-keystore`.
    #[arg(long, requires = "tls_keystore")]
    pub tls_password: Option<String>,
    /// Deflate on the RPC hop, at this level (0-9) on the client's side.
    #[arg(long, requires = "rpc", value_parser = clap::value_parser!(u32).range(0..=9))]
    pub deflate: Option<u32>,
    /// With `--rpc` to the in-process agent and `--channel file`: also run the channel
    /// alone (the put phase, same putters, batch, event size and `--set` keys, its own fresh
    /// directories) right after each RPC run, and report both and their ratio.
    #[arg(long, requires = "rpc", conflicts_with = "target")]
    pub compare_channel: bool,
    /// With `--rpc`: rounds to run (alternating RPC and channel with `--compare-channel`);
    /// the rows reported are the medians' rounds.
    #[arg(long, requires = "rpc", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=ROUNDS_MAX as i64))]
    pub rounds: u32,
    /// With `--rpc` to the in-process agent: null sinks draining the channel, each its own
    /// runner (one sink is one serial taker: it may not keep up with several connections).
    #[arg(long, requires = "rpc", conflicts_with = "target", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=SINKS_MAX as i64))]
    pub sinks: u32,
    /// With `--rpc`: every event carries an event id (`sluiceId`, one origin, dense), as
    /// events from an upstream Sluice with `eventIds` do, so a receiving file channel with
    /// `eventIds` parses and checks ids instead of giving its own (the collector's side of a
    /// hop).
    #[arg(long, requires = "rpc")]
    pub upstream_ids: bool,
}

/// Most `--sinks`.
pub const SINKS_MAX: u32 = 16;

/// Most `--rounds`.
pub const ROUNDS_MAX: u32 = 100;

/// RPC protocols `--rpc` can measure.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcKind {
    /// Flume's Avro RPC.
    Avro,
    /// Flume's Thrift RPC (framed, compact protocol).
    Thrift,
    /// OpenTelemetry's OTLP logs over gRPC (no compression).
    Otlp,
}

impl RpcKind {
    /// The source type that speaks it.
    pub fn name(self) -> &'static str {
        match self {
            RpcKind::Avro => "avro",
            RpcKind::Thrift => "thrift",
            RpcKind::Otlp => "otlp",
        }
    }
}

/// Which side(s) of the channel run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseArg {
    /// Put only.
    Put,
    /// Take only (drain the existing backlog).
    Take,
    /// Put, then take everything back.
    Both,
    /// Put and take at once.
    Mixed,
}

/// Which channel is measured.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// The durable file channel.
    File,
    /// An in-process queue without durability (the CPU ceiling of the harness).
    Memory,
}

/// Body sizes: uniform over `min..=max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeDist {
    /// Smallest body in bytes.
    pub min: usize,
    /// Largest body in bytes.
    pub max: usize,
}

/// Smallest body: the event id takes 8 bytes.
pub const BODY_BYTES_MIN: usize = 8;

impl SizeDist {
    /// Parses `N` or `A..B`.
    pub fn parse(s: &str) -> anyhow::Result<SizeDist> {
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (parse_bytes(a)?, parse_bytes(b.trim_start_matches('='))?),
            None => {
                let n = parse_bytes(s)?;
                (n, n)
            }
        };
        if min < BODY_BYTES_MIN || max < min {
            bail!("--event-size {s:?}: need {BODY_BYTES_MIN} <= min <= max");
        }
        Ok(SizeDist { min, max })
    }

    /// The body size of event `id` (deterministic, so a verifier can recompute it).
    pub fn size_of(&self, id: u64) -> usize {
        let span = (self.max - self.min + 1) as u64;
        self.min + (splitmix(id) % span) as usize
    }
}

/// The splitmix64 mix: a cheap, well-spread hash of an id.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn parse_bytes(s: &str) -> anyhow::Result<usize> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = lower.strip_suffix("kib").or(lower.strip_suffix('k')) {
        (n.to_owned(), 1024)
    } else if let Some(n) = lower.strip_suffix("mib").or(lower.strip_suffix('m')) {
        (n.to_owned(), 1 << 20)
    } else {
        (lower.trim_end_matches('b').to_owned(), 1)
    };
    let n: usize = num
        .trim()
        .parse()
        .with_context(|| format!("not a byte count: {s:?}"))?;
    Ok(n * mult)
}

/// Parses `10s`, `250ms`, `2m` or a plain number of seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("not a duration: {s:?}"))?;
    if !(v.is_finite() && v > 0.0) {
        bail!("duration must be positive: {s:?}");
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// When the put side stops.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many events.
    Events(u64),
    /// After this long.
    Duration(Duration),
}

/// Default event count when neither `--events` nor `--duration` is given.
pub const EVENTS_DEFAULT: u64 = 100_000;

impl BenchArgs {
    /// The body size distribution.
    pub fn sizes(&self) -> anyhow::Result<SizeDist> {
        SizeDist::parse(&self.event_size)
    }

    /// When the put side stops.
    pub fn stop(&self) -> anyhow::Result<Stop> {
        Ok(match (&self.duration, self.events) {
            (Some(d), _) => Stop::Duration(parse_duration(d)?),
            (None, Some(n)) => Stop::Events(n),
            (None, None) => Stop::Events(EVENTS_DEFAULT),
        })
    }

    /// The `--set` pairs as a map.
    pub fn set_map(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut m = BTreeMap::new();
        for kv in &self.set {
            let Some((k, v)) = kv.split_once('=') else {
                bail!("--set {kv:?}: expected KEY=VALUE");
            };
            m.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_fixed_and_ranges() {
        assert_eq!(
            SizeDist::parse("1024").unwrap(),
            SizeDist {
                min: 1024,
                max: 1024
            }
        );
        assert_eq!(
            SizeDist::parse("256..4k").unwrap(),
            SizeDist {
                min: 256,
                max: 4096
            }
        );
        assert!(SizeDist::parse("4..2").is_err());
        let d = SizeDist::parse("256..4096").unwrap();
        assert!((0..1000).all(|i| (256..=4096).contains(&d.size_of(i))));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
    }
}
