//! The channel a bench run opens: its directories ([`run_dirs`]), its configuration from the
//! flags ([`channel_config`]), the file channel itself ([`open_file_channel`]), temporary
//! directories removed afterwards ([`scratch`]), and one put phase of the file
//! channel alone in fresh ones ([`put_round`], the figure `--rpc --compare-channel` sets next
//! to the RPC one). A leaf: `mod.rs`, `rpc.rs` and `compare.rs` import it.

use std::path::PathBuf;

use anyhow::{bail, Context};
use sluice_core::{FileChannel, FileChannelConfig};

use super::args::{BenchArgs, ChannelKind, PhaseArg, Stop};
use super::payload::Payload;
use super::queue::FileQueue;
use super::report::PhaseReport;
use super::workload::{self, PhaseSpec};

/// Capacity given to the channel for a timed run when `--set capacity` is absent: the
/// channel's own maximum (`capacity` is at most 1,000,000,000; a larger default made every
/// `--duration` run without `--set capacity` fail at open).
const DURATION_RUN_CAPACITY: u64 = 1_000_000_000;

/// A temporary directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch() -> anyhow::Result<Scratch> {
    let p = std::env::temp_dir().join(format!("sluice-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    Ok(Scratch(p))
}

/// The checkpoint and data directories of a run: the given ones, or (for those not given)
/// ones in a scratch directory removed when the answered [`Scratch`] drops.
pub fn run_dirs(args: &BenchArgs) -> anyhow::Result<(PathBuf, Vec<PathBuf>, Option<Scratch>)> {
    if let (Some(c), false) = (&args.checkpoint_dir, args.data_dirs.is_empty()) {
        return Ok((c.clone(), args.data_dirs.clone(), None));
    }
    let s = scratch()?;
    let ckpt = args
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| s.0.join("checkpoint"));
    let data = if args.data_dirs.is_empty() {
        vec![s.0.join("data")]
    } else {
        args.data_dirs.clone()
    };
    Ok((ckpt, data, Some(s)))
}

/// The file channel of a `--channel file` run (None for the memory queue), refused when it
/// already holds events a put-and-take-back run would miscount.
pub fn open_file_channel(
    args: &BenchArgs,
    config: &FileChannelConfig,
) -> anyhow::Result<Option<FileChannel>> {
    if args.channel != ChannelKind::File {
        if args.reopen || args.checkpoint_every_ms.is_some() {
            bail!("--reopen and --checkpoint-every-ms need --channel file");
        }
        return Ok(None);
    }
    let ch = FileChannel::open(config.clone()).context("cannot open the channel")?;
    let queued = ch.stats().queued;
    if queued > 0 && matches!(args.phase, PhaseArg::Both | PhaseArg::Mixed) {
        bail!(
            "the channel already holds {queued} events; --phase both/mixed needs an empty one \
             (use fresh directories, or --phase take to drain it)"
        );
    }
    Ok(Some(ch))
}

/// One put phase of the file channel alone, in fresh temporary directories, with the run's
/// putters, batch, event size, stop and `--set` keys: the channel figure `--compare-channel`
/// sets next to the RPC one.
pub fn put_round(args: &BenchArgs) -> anyhow::Result<PhaseReport> {
    let s = scratch()?;
    let stop = args.stop()?;
    let batch = args.batch.max(1);
    let data = [s.0.join("data")];
    let config = channel_config(args, &s.0.join("checkpoint"), &data, stop, batch)?;
    let ch = FileChannel::open(config).context("cannot open the channel")?;
    let payload = Payload::new(args.sizes()?, args.headers);
    let spec = PhaseSpec {
        name: "put",
        putters: args.putters.max(1),
        stop,
        takers: 0,
        take_limit: None,
        batch,
        first_id: 0,
        check_size: true,
    };
    let r = workload::run_phase(spec, &FileQueue(ch.clone()), &payload, None, false)?;
    ch.close().context("closing the channel")?;
    let mut p = PhaseReport::from_result(&r);
    p.receiver_cpu_us_per_event = Some(p.rates.cpu_us_per_event);
    Ok(p)
}

/// The channel configuration: `--set` keys over the defaults, with capacity and
/// transactionCapacity raised to fit the run unless they were set.
pub fn channel_config(
    args: &BenchArgs,
    ckpt: &std::path::Path,
    data: &[PathBuf],
    stop: Stop,
    batch: usize,
) -> anyhow::Result<FileChannelConfig> {
    let mut props = args.set_map()?;
    props.insert("checkpointDir".into(), ckpt.display().to_string());
    let dirs: Vec<String> = data.iter().map(|d| d.display().to_string()).collect();
    props.insert("dataDirs".into(), dirs.join(","));
    let defaults = FileChannelConfig::default();
    if !props.contains_key("capacity") {
        let need = match stop {
            Stop::Events(n) => n + (batch * args.putters.max(1)) as u64,
            Stop::Duration(_) => DURATION_RUN_CAPACITY,
        };
        props.insert("capacity".into(), need.max(defaults.capacity).to_string());
    }
    if !props.contains_key("transactionCapacity") {
        let tc = (batch as u64).max(defaults.transaction_capacity);
        props.insert("transactionCapacity".into(), tc.to_string());
    }
    let (config, warnings) =
        FileChannelConfig::from_properties(&props).context("invalid channel configuration")?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config.with_key_provider(&sluice_keystore::key_source()))
}
