//! `sluice crashtest`: kills a channel workload at random moments and checks what survives.

/// Arguments of `sluice crashtest`.
#[derive(clap::Args, Debug)]
pub struct CrashtestArgs {}

/// Runs the subcommand.
pub fn run(_args: CrashtestArgs) -> anyhow::Result<i32> {
    anyhow::bail!("sluice crashtest: under construction")
}
