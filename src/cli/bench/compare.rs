//! `sluice bench --rpc` as a whole: `--rounds` RPC runs ([`rpc::round`]), each followed with
//! `--compare-channel` by a put phase of the file channel alone (same putters, batch, event
//! size and `--set` keys, fresh directories), so the two alternate; the report's rows are the
//! rounds of the median events/s, and a [`Comparison`] carries every round and the ratio.

use anyhow::bail;

use super::args::{BenchArgs, ChannelKind, RpcKind};
use super::channel_setup::put_round;
use super::report::{Comparison, PhaseReport, Report};
use super::rpc::{self, Runtimes};
use super::table;

/// The index of the median of `v` (the lower one of an even count).
fn median_index(v: &[f64]) -> usize {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    idx.get((v.len().saturating_sub(1)) / 2)
        .copied()
        .unwrap_or(0)
}

/// Runs `--rpc avro|thrift`.
pub fn run(args: &BenchArgs) -> anyhow::Result<i32> {
    if args.compare_channel && args.channel != ChannelKind::File {
        bail!("--compare-channel needs --channel file (the channel alone is the file channel)");
    }
    let load_average = super::report::load_average();
    let rts = Runtimes::new()?;
    let mut rpc_rounds = Vec::new();
    let mut channel_rounds: Vec<PhaseReport> = Vec::new();
    for _ in 0..args.rounds.max(1) {
        rpc_rounds.push(rpc::round(args, &rts)?);
        if args.compare_channel {
            channel_rounds.push(put_round(args)?);
        }
    }
    let rates = |rows: &[&PhaseReport]| -> Vec<f64> {
        rows.iter().map(|p| p.rates.events_per_sec).collect()
    };
    let rpc_rows: Vec<&PhaseReport> = rpc_rounds.iter().map(|r| &r.phase).collect();
    let rpc_eps = rates(&rpc_rows);
    let chosen = rpc_rounds.swap_remove(median_index(&rpc_eps));
    let channel_eps = rates(&channel_rounds.iter().collect::<Vec<_>>());
    let channel_row = (!channel_rounds.is_empty())
        .then(|| channel_rounds.swap_remove(median_index(&channel_eps)));
    let comparison = (args.rounds > 1 || args.compare_channel).then(|| Comparison {
        rounds: args.rounds.max(1),
        ratio: channel_row
            .as_ref()
            .map(|c| chosen.phase.rates.events_per_sec / c.rates.events_per_sec.max(1e-9)),
        rpc_receiver_cpu_us_per_event: chosen.phase.receiver_cpu_us_per_event,
        channel_cpu_us_per_event: channel_row.as_ref().map(|c| c.rates.cpu_us_per_event),
        rpc_events_per_sec: rpc_eps,
        channel_events_per_sec: channel_eps,
    });
    let kind = args.rpc.unwrap_or(RpcKind::Avro);
    let report = Report {
        channel: channel_label(args, kind),
        workload: workload_json(args, &chosen, kind)?,
        rates: chosen.phase.rates,
        peak_rss_mb: super::resources::now().peak_rss_bytes as f64 / 1e6,
        phases: std::iter::once(chosen.phase).chain(channel_row).collect(),
        verified: None,
        probe: None,
        vs_probe: None,
        reopen: None,
        load_average,
        comparison,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table::text(&report));
    }
    Ok(0)
}

/// What the report calls the path measured: `remote`, or the source and its channel.
fn channel_label(args: &BenchArgs, kind: RpcKind) -> String {
    match (&args.target, args.channel) {
        (Some(_), _) => "remote".to_owned(),
        (None, ChannelKind::Memory) => format!("{} source -> memory", kind.name()),
        (None, ChannelKind::File) => format!("{} source -> file", kind.name()),
    }
}

/// The report's workload: the options of the run and what the chosen round saw.
fn workload_json(
    args: &BenchArgs,
    chosen: &rpc::RpcRound,
    kind: RpcKind,
) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({
        "rpc": kind.name(),
        "target": chosen.target,
        "in_process_agent": args.target.is_none(),
        "batch": args.batch.max(1),
        "connections": args.putters.max(1),
        "sinks": args.sinks,
        "tls": args.tls_keystore.is_some(),
        "deflate_level": args.deflate,
        "event_size": args.event_size,
        "headers": args.headers,
        "failed_calls": chosen.failed_calls,
        "settings": args.set_map()?,
        "rounds": args.rounds.max(1),
        "compare_channel": args.compare_channel,
    }))
}

#[cfg(test)]
mod tests {
    use super::median_index;

    #[test]
    fn the_median_index_is_that_of_the_middle_value() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), 2);
        assert_eq!(median_index(&[5.0]), 0);
        assert_eq!(median_index(&[4.0, 1.0]), 1, "the lower of two");
        assert_eq!(median_index(&[]), 0);
    }
}
