//! `sluice agent`: runs an agent from a Flume properties file.

/// Arguments of `sluice agent`.
#[derive(clap::Args, Debug)]
pub struct AgentArgs {}

/// Runs the subcommand.
pub fn run(_args: AgentArgs) -> anyhow::Result<i32> {
    anyhow::bail!("sluice agent: under construction")
}
