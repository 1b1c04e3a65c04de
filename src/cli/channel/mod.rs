//! `sluice channel ...`: put, take and the integrity tools over a channel on disk.

/// The channel subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {}

/// Runs a channel subcommand.
pub fn run(cmd: ChannelCommand) -> anyhow::Result<i32> {
    match cmd {}
}
