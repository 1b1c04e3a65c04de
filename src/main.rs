//! The `sluice` binary: a thin command-line edge over the library. Parses arguments, sets up
//! logging and hands off to the subcommand; `anyhow` lives only here and in `src/cli/`.

mod cli;

/// mimalloc instead of glibc's malloc: an event is six small allocations (body, header map,
/// keys and values) made on one side of the channel and freed on the other, and glibc's
/// malloc and free were ≈ 18 % of the CPU samples of a `sluice bench` run
/// (docs/performance-findings.md, "CPU per event"). Built without transparent huge pages
/// (`no_thp`): with them an arena grows resident 2 MiB at a time, which put an idle agent at
/// 32 MiB instead of 23 and W2's collector at 67-99 MiB instead of 40-45 (docs/performance.md,
/// "Memory"); `MIMALLOC_ALLOW_THP=1` in the environment turns them back on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// `sluice -V`: the version, the commit and the day it was built (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SLUICE_COMMIT"),
    ", built ",
    env!("SLUICE_BUILD_DATE"),
    ")"
);

/// `sluice --version`: [`VERSION`]'s parts one per line, with the target and the librdkafka
/// the binary carries (asked of the library itself).
fn long_version() -> String {
    let (_, rdkafka) = rdkafka::util::get_rdkafka_version();
    format!(
        "{}\ncommit: {}\nbuilt: {}\ntarget: {}\nlibrdkafka: {rdkafka}",
        env!("CARGO_PKG_VERSION"),
        env!("SLUICE_COMMIT"),
        env!("SLUICE_BUILD_DATE"),
        env!("SLUICE_TARGET"),
    )
}

#[derive(Parser, Debug)]
#[command(
    name = "sluice",
    version = VERSION,
    about = "Sluice: a log-transport agent with a durable file channel (a Flume successor)",
    after_help = sluice::agent::registry::listing::help()
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an agent from Flume properties files, URIs or a ZooKeeper znode.
    #[command(after_help = "Examples:
  sluice agent -n a1 -f examples/netcat-file-roll.properties
  sluice agent -n a1 -c conf -f conf/flume.conf -Dflume.root.logger=DEBUG,console
  sluice agent -n a1 -f a1.properties -Dflume.root.logger=INFO,LOGFILE -Dflume.log.dir=/var/log/sluice
  sluice agent -n a1 -f a1.properties -Dflume.log.format=json
  sluice agent -n a1 -f conf/base.properties -f conf/site.properties
  sluice agent -n a1 -u https://conf.example.com/a1.properties -b /var/lib/sluice/conf-backup
  sluice agent -n a1 -z zk1:2181,zk2:2181 -p /flume

Exit codes: 0 stopped cleanly, 1 the configuration has errors, 2 bad arguments, 3 could not run.")]
    Agent(cli::agent::AgentArgs),
    /// Send lines to a netcat source and check that each is answered OK.
    #[command(after_help = "Examples:
  sluice send hello world                 (two lines to localhost:44444)
  printf 'a\\nb\\n' | sluice send -H 127.0.0.1 -p 44444

Exit codes: 0 every line answered OK, 1 a line was answered FAILED, 2 bad arguments,
3 the source could not be reached or stopped answering.")]
    Send(cli::send::SendArgs),
    /// Work with configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Operate on a file channel on disk.
    #[command(subcommand)]
    Channel(cli::channel::ChannelCommand),
    /// Kill a channel workload at random moments and check that nothing acknowledged is lost.
    #[command(after_help = "Example:
  sluice crashtest --dir /tmp/ct --rounds 20

Exit codes: 0 nothing acknowledged was lost, 1 loss or duplicates found, 2 bad arguments,
3 could not run.")]
    Crashtest(cli::crashtest::CrashtestArgs),
    /// The crashtest's child process (internal).
    #[command(name = "crashtest-worker", hide = true)]
    CrashtestWorker(cli::crashtest::WorkerArgs),
    /// Measure channel (or, with --rpc, RPC) throughput and the disk's own limits.
    #[command(after_help = "Example:
  sluice bench --data-dirs /var/tmp/b0 --checkpoint-dir /var/tmp/bc --duration 4s --putters 2")]
    Bench(cli::bench::BenchArgs),
    /// Send lines of a file or stdin to an avro source (as `flume-ng avro-client`).
    #[command(
        name = "avro-client",
        after_help = "Examples:
  sluice avro-client -H localhost -p 41414 -F /var/log/app.log
  printf 'a\\nb\\n' | sluice avro-client -H localhost -p 41414 --header host=web1

Exit codes: 0 every line acknowledged, 1 a batch not acknowledged, 2 bad arguments,
3 the source cannot be reached or the input cannot be read."
    )]
    AvroClient(cli::avro_client::AvroClientArgs),
    /// Watch an agent's metrics in the terminal: rates per second and channel fill.
    #[command(after_help = "Examples:
  sluice top                                       (the agent at 127.0.0.1:41414)
  sluice top --url http://127.0.0.1:34545/metrics --interval 5
  sluice top --once | grep c1

Exit codes: 0 done (--once), 2 bad arguments, 3 the agent cannot be reached.")]
    Top(cli::top::TopArgs),
    /// Users' Flume plugins (Java): build the Flume-API shim jar plugins compile against.
    #[command(
        subcommand,
        after_help = "Example:
  javac -cp \"$(sluice plugins build)\" -d classes MySource.java"
    )]
    Plugins(cli::plugins::PluginsCommand),
    /// Test a configuration's routing: inject events at a source, check what each channel
    /// and sink receives (interceptors, selectors and sink processors as the agent runs them).
    #[command(after_help = "Examples:
  sluice test -f examples/failover-edge.properties
  sluice test -n a1 -f a1.properties a1-routing.tests.toml

Without test files, CONFIG with the extension .tests.toml is used. The format is in
docs/testing-configs.md.

Exit codes: 0 every test passed, 1 a test failed or the configuration has errors,
2 bad arguments, 3 a file cannot be read or a test file is malformed.")]
    Test(cli::test_cmd::TestArgs),
    /// Print a sample of the events passing a running agent's sources, channels and sinks.
    #[command(after_help = "Examples:
  sluice tap --url http://127.0.0.1:41414 --component r1 --limit 20
  sluice tap --url http://127.0.0.1:41414 --rate 10

The agent must run with -Dflume.monitoring.type=http -Dflume.monitoring.tap=loopback
(the tap is off by default: it shows log contents). One JSON line per event:
{\"point\":\"source\",\"component\":\"r1\",\"headers\":{...},\"body\":\"...\"}.

Exit codes: 0 done, 2 bad arguments, 3 the agent cannot be reached or refuses the tap.")]
    Tap(cli::tap::TapArgs),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate a configuration file and print every problem with its line number.
    #[command(after_help = "Examples:
  sluice config check -n a1 -f examples/netcat-file-roll.properties
  sluice config check -n a1 -c conf -f conf/flume.conf
  sluice config check -n a1 -f conf/flume.conf --verify-channels

Exit codes: 0 no errors (warnings may be printed), 1 the configuration has errors (or, with
--verify-channels, a file channel is not sound), 2 bad arguments, 3 the file cannot be read
(or a file channel cannot be verified: an agent holds it).")]
    Check(cli::config_check::CheckArgs),
}

fn main() {
    // A closed stdout or stderr: the agent runs on, every other command (and `--help`) ends
    // quietly (cli::pipe).
    if std::env::args_os().nth(1).is_none_or(|a| a != "agent") {
        cli::pipe::end_quietly_on_closed_pipe();
    }
    // Built once per run; clap keeps only `'static` strings without its `string` feature.
    let long: &'static str = Box::leak(long_version().into_boxed_str());
    let matches = Cli::command().long_version(long).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Agent(args) => cli::agent::run(args),
        Command::Config(ConfigCommand::Check(args)) => cli::config_check::run(args),
        Command::Send(args) => cli::send::run(args),
        Command::Channel(cmd) => cli::channel::run(cmd),
        Command::Crashtest(args) => cli::crashtest::run(args),
        Command::CrashtestWorker(args) => cli::crashtest::run_worker(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::AvroClient(args) => cli::avro_client::run(args),
        Command::Top(args) => cli::top::run(args),
        Command::Plugins(cmd) => cli::plugins::run(cmd),
        Command::Test(args) => cli::test_cmd::run(args),
        Command::Tap(args) => cli::tap::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            cli::pipe::eprint_line(&format!("sluice: error: {}", cli::exit::render(&e)));
            std::process::exit(cli::exit::code_of(&e));
        }
    }
}
