//! `sluice bench`: channel throughput and the disk's own limits.

/// Arguments of `sluice bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

/// Runs the subcommand.
pub fn run(_args: BenchArgs) -> anyhow::Result<i32> {
    anyhow::bail!("sluice bench: under construction")
}
