//! `sluice config check`: validates a Flume properties file.

/// Arguments of `sluice config check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {}

/// Runs the subcommand.
pub fn run(_args: CheckArgs) -> anyhow::Result<i32> {
    anyhow::bail!("sluice config check: under construction")
}
