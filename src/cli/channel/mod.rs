//! `sluice channel ...`: put, take and the integrity tools over a channel on disk.

mod args;
mod dump;
mod inspect;
mod put_take;
mod salvage;
mod verify;

pub use args::ChannelArgs;

/// The channel subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {
    /// Read lines from stdin, one event per line, and commit them in batches.
    Put(put_take::PutArgs),
    /// Take events and write their bodies to stdout, one per line, committing each batch
    /// after it is written and flushed.
    Take(put_take::TakeArgs),
    /// Show queue depth, segments, checkpoints and the oldest event, without changing anything.
    Inspect(inspect::InspectArgs),
    /// Read every record and checkpoint; print each problem as `file:offset: what`; exit 0
    /// only when the channel is sound.
    Verify(verify::VerifyArgs),
    /// Print the queued events as JSON lines, without changing anything.
    Dump(dump::DumpArgs),
    /// Copy every readable committed event into a new, sound channel and report what was lost.
    Salvage(salvage::SalvageArgs),
}

/// Runs a channel subcommand.
pub fn run(cmd: ChannelCommand) -> anyhow::Result<i32> {
    crate::cli::logging::init("warn");
    match cmd {
        ChannelCommand::Put(a) => put_take::put(a),
        ChannelCommand::Take(a) => put_take::take(a),
        ChannelCommand::Inspect(a) => inspect::run(a),
        ChannelCommand::Verify(a) => verify::run(a),
        ChannelCommand::Dump(a) => dump::run(a),
        ChannelCommand::Salvage(a) => salvage::run(a),
    }
}
