//! The `sluice` binary: a thin command-line edge over the library. Parses arguments, sets up
//! logging and hands off to the subcommand; `anyhow` lives only here and in `src/cli/`.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sluice",
    version,
    about = "Sluice: a log-transport agent with a durable file channel (a Flume successor)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an agent from a Flume properties file.
    Agent(cli::agent::AgentArgs),
    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Operate on a file channel on disk.
    #[command(subcommand)]
    Channel(cli::channel::ChannelCommand),
    /// Kill a channel workload at random moments and check that nothing acknowledged is lost.
    Crashtest(cli::crashtest::CrashtestArgs),
    /// The crashtest's child process (internal).
    #[command(name = "crashtest-worker", hide = true)]
    CrashtestWorker(cli::crashtest::WorkerArgs),
    /// Measure channel (or, with --rpc, RPC) throughput and the disk's own limits.
    Bench(cli::bench::BenchArgs),
    /// Send lines of a file or stdin to an avro source (as `flume-ng avro-client`).
    #[command(name = "avro-client")]
    AvroClient(cli::avro_client::AvroClientArgs),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate a configuration file and print every problem with its line number.
    Check(cli::config_check::CheckArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Agent(args) => cli::agent::run(args),
        Command::Config(ConfigCommand::Check(args)) => cli::config_check::run(args),
        Command::Channel(cmd) => cli::channel::run(cmd),
        Command::Crashtest(args) => cli::crashtest::run(args),
        Command::CrashtestWorker(args) => cli::crashtest::run_worker(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::AvroClient(args) => cli::avro_client::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sluice: error: {e:#}");
            std::process::exit(1);
        }
    }
}
