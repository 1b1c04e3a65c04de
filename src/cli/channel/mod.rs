//! `sluice channel ...`: put, take and the integrity tools over a channel on disk.

mod args;
mod put_take;

pub use args::ChannelArgs;

/// The channel subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {
    /// Read lines from stdin, one event per line, and commit them in batches.
    Put(put_take::PutArgs),
    /// Take events and write their bodies to stdout, one per line, committing each batch
    /// after it is written and flushed.
    Take(put_take::TakeArgs),
}

/// Runs a channel subcommand.
pub fn run(cmd: ChannelCommand) -> anyhow::Result<i32> {
    crate::cli::logging::init("warn");
    match cmd {
        ChannelCommand::Put(a) => put_take::put(a),
        ChannelCommand::Take(a) => put_take::take(a),
    }
}
