//! `sluice channel ...`: put, take and the integrity tools over a channel on disk.

mod adopt;
mod adopt_check;
mod agent_conf;
mod args;
mod dump;
mod flume_report;
mod inspect;
mod keys;
mod progress;
mod put_take;
mod salvage;
mod verify;

pub use args::ChannelArgs;

/// The channel subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {
    /// Read lines from stdin, one event per line, and commit them in batches.
    #[command(
        after_help = "Example:\n  printf 'a\\nb\\n' | sluice channel put --checkpoint-dir data/checkpoint --data-dirs data/data"
    )]
    Put(put_take::PutArgs),
    /// Take events and write their bodies to stdout, one per line, committing each batch
    /// after it is written and flushed.
    #[command(
        after_help = "Example:\n  sluice channel take --checkpoint-dir data/checkpoint --data-dirs data/data --max 10"
    )]
    Take(put_take::TakeArgs),
    /// Show queue depth, segments, checkpoints and the oldest event, without changing anything.
    #[command(
        after_help = "Example:\n  sluice channel inspect --checkpoint-dir data/checkpoint --data-dirs data/data\n\nExit codes: 0 printed, 2 bad arguments, 3 the channel cannot be read (in use, missing)."
    )]
    Inspect(inspect::InspectArgs),
    /// Read every record and checkpoint; print each problem as `file:offset: what`; exit 0
    /// only when the channel is sound.
    #[command(
        after_help = "Example:\n  sluice channel verify --checkpoint-dir data/checkpoint --data-dirs data/data\n\nExit codes: 0 sound, 1 problems found, 2 bad arguments, 3 cannot check (in use, missing)."
    )]
    Verify(verify::VerifyArgs),
    /// Print the queued events as JSON lines, without changing anything.
    #[command(
        after_help = "Example:\n  sluice channel dump --checkpoint-dir data/checkpoint --data-dirs data/data --max 5\n\nExit codes: 0 every event printed, 1 some unreadable, 2 bad arguments, 3 cannot read."
    )]
    Dump(dump::DumpArgs),
    /// Copy every readable committed event into a new, sound channel and report what was lost.
    #[command(
        after_help = "Example:\n  sluice channel salvage --checkpoint-dir data/checkpoint --data-dirs data/data \\\n      --output-checkpoint-dir saved/checkpoint --output-data-dirs saved/data\n\nExit codes: 0 done (read the report), 2 bad arguments, 3 nothing done."
    )]
    Salvage(salvage::SalvageArgs),
    /// Make the events an Apache Flume file channel holds a Sluice channel's queue, in
    /// Flume's order (into new directories, or in place); `--dry-run` only reports.
    #[command(
        after_help = "Examples:\n  sluice channel adopt --flume-checkpoint-dir /var/flume/checkpoint --flume-data-dirs /var/flume/data --dry-run\n  sluice channel adopt --flume-checkpoint-dir /var/flume/checkpoint --flume-data-dirs /var/flume/data \\\n      --checkpoint-dir /var/sluice/checkpoint --data-dirs /var/sluice/data\n  sluice channel adopt --flume-checkpoint-dir /var/flume/checkpoint --flume-data-dirs /var/flume/data --in-place\n  sluice channel adopt -f conf/flume.conf -n a1 -c c1 --in-place --dry-run\n\nExit codes: 0 done, 1 done or read with damaged events (printed), 2 bad arguments, 3 nothing adopted: refused (the message says what to fix; a damaged record: rerun with --skip-damaged), or interrupted (rerun to finish it). A --dry-run naming a target (--checkpoint-dir/--data-dirs or --in-place) exits 3 when the real run would refuse it (capacity, space, keys), writing nothing."
    )]
    Adopt(adopt::AdoptArgs),
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
        ChannelCommand::Adopt(a) => adopt::run(a),
    }
}
