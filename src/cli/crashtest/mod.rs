//! `sluice crashtest`: runs a put/take workload, crashes it at random moments for N rounds,
//! and checks at the end that every acknowledged event came out, in order per producer.
//!
//! Two modes. By default the workload runs in a child process (this binary under the hidden
//! `crashtest-worker` subcommand, see [`worker`]) on the real disk and is killed with SIGKILL
//! ([`kill`]). With `--power-loss` it runs in this process on the simulated file system and
//! each crash drops or tears every unsynced write ([`power_loss`]). [`ledger`] keeps the
//! books. `--seed` makes the kill moments, crash points and crash images repeatable (thread
//! scheduling of the real-process mode is not). The last line is
//! `rounds=N acked=N recovered=N lost=N duplicated=N`; the exit code is 1 when anything
//! acknowledged was lost or came out of order, and with `--exactly-once` (SIGKILL mode) when
//! anything was delivered twice.
//!
//! With `--remove dir-segments|dir-entry` files vanish instead ([`missing`]): the check is
//! that loss is never silent (open refuses, salvage names it). Its last line is
//! `rounds=N lossy=N refused=N salvage_reported=N undetectable=N silent=N phantom=N`.

mod kill;
mod ledger;
mod missing;
mod power_loss;
mod worker;
mod worker_proc;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_core::{DirectIo, EncryptionConfig, FileChannelConfig};

use crate::cli::exit::Usage;

pub use worker::{run_worker, WorkerArgs};

/// Arguments of `sluice crashtest`.
#[derive(clap::Args, Debug)]
pub struct CrashtestArgs {
    /// Directory for the channel (checkpoint in DIR/checkpoint, data in DIR/data unless
    /// --data-dirs). With --power-loss the paths only name files of the simulated disk.
    #[arg(long)]
    pub dir: PathBuf,
    /// Comma-separated data directories, to test striping over several disks.
    #[arg(long, value_delimiter = ',')]
    pub data_dirs: Vec<PathBuf>,
    /// Crash rounds.
    #[arg(long, default_value_t = 20)]
    pub rounds: u64,
    /// Seed of the kill moments, crash points and crash images (random if omitted).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulate power loss in process (unsynced writes dropped or torn) instead of SIGKILL.
    #[arg(long)]
    pub power_loss: bool,
    /// Concurrent producers per round.
    #[arg(long, default_value_t = 2)]
    pub producers: u64,
    /// Longest run before a kill, in milliseconds (SIGKILL mode).
    #[arg(long, default_value_t = 300)]
    pub max_run_ms: u64,
    /// Remove files instead of crashing (simulated file system): the segments of a data
    /// directory, or one directory entry. Checks that no loss is silent.
    #[arg(long, value_enum)]
    pub remove: Option<missing::Removal>,
    /// `directIo` of the channel under test: `auto` (the channel's default: O_DIRECT where
    /// the file system takes it), `true` or `false` (buffered). With --power-loss the
    /// simulated disk takes O_DIRECT.
    #[arg(long, default_value = "auto", value_parser = parse_direct_io)]
    pub direct_io: DirectIo,
    /// SIGKILL mode: book what the taker printed as a sink's output that is cut back at each
    /// start to the cursor its committed takes carry (as `file_roll` does), and fail on any
    /// duplicate (docs/exactly-once.md).
    #[arg(long, conflicts_with_all = ["power_loss", "remove"])]
    pub exactly_once: bool,
    /// An `encryption.*` key of the channel under test, e.g. `--set
    /// encryption.activeKey=key-0` (repeatable): its segments are sealed (docs/encryption.md).
    /// With --power-loss the key files are copied onto the simulated disk first.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// What a SIGKILL or power-loss run is given: the arguments, the seed, and the channel's
/// checkpoint and data directories.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) args: &'a CrashtestArgs,
    pub(crate) seed: u64,
    pub(crate) ckpt: &'a Path,
    pub(crate) dirs: &'a [PathBuf],
}

impl Plan<'_> {
    /// The run's random numbers, from its seed.
    pub(crate) fn rng(&self) -> Rng {
        Rng::new(self.seed)
    }
}

/// The encryption of the channel under test, from `--set` pairs (only `encryption.*` keys).
pub(crate) fn encryption_of(set: &[String]) -> anyhow::Result<Option<EncryptionConfig>> {
    let mut props = std::collections::BTreeMap::new();
    for kv in set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(Usage(format!("--set {kv:?}: expected KEY=VALUE")).into());
        };
        if !k.trim().starts_with("encryption.") {
            return Err(Usage(format!("--set {k}: crashtest takes encryption.* keys only")).into());
        }
        props.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    let enc = EncryptionConfig::from_properties(&props)
        .map_err(|e| Usage(format!("invalid encryption keys: {e}")))?;
    Ok(enc.map(|e| e.with_provider(sluice_keystore::key_source())))
}

/// Parses a `directIo` value as the config key takes it.
pub(crate) fn parse_direct_io(v: &str) -> Result<DirectIo, String> {
    DirectIo::parse(v).ok_or_else(|| format!("{v:?}: expected auto, true or false"))
}

/// SplitMix64: a tiny seeded generator, enough for choosing moments and actions.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// The channel configuration every mode uses: small segments and frequent checkpoints, so
/// that rolls, checkpoints and segment deletion happen while the workload is being killed.
pub(crate) fn channel_config(
    checkpoint_dir: &Path,
    data_dirs: &[PathBuf],
    direct_io: DirectIo,
) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(checkpoint_dir, data_dirs.to_vec());
    c.direct_io = direct_io;
    c.capacity = 200_000;
    c.transaction_capacity = 1_000;
    c.keep_alive = Duration::from_millis(100);
    c.max_file_size_bytes = 1 << 20;
    c.minimum_required_space_bytes = 1 << 20;
    c.checkpoint_interval_ms = 2_000;
    c.fsync_per_transaction = true;
    c
}

/// The body of event `seq` of `producer`: `producer:seq:` and some padding.
pub(crate) fn event_body(producer: u64, seq: u64) -> Vec<u8> {
    let pad = 32 + (seq * 37 % 200) as usize;
    format!("{producer}:{seq}:{}", "x".repeat(pad)).into_bytes()
}

/// Parses `producer:seq:...`.
pub(crate) fn parse_body(body: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(body).ok()?;
    let mut it = s.splitn(3, ':');
    let p = it.next()?.parse().ok()?;
    let q = it.next()?.parse().ok()?;
    Some((p, q))
}

/// Runs the subcommand.
pub fn run(args: CrashtestArgs) -> anyhow::Result<i32> {
    // Power-loss mode poisons the channel at every cut on purpose: keep those logs quiet.
    crate::cli::logging::init(if args.power_loss { "off" } else { "error" });
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    if let Some(how) = args.remove {
        println!(
            "crashtest: {} rounds, seed {seed}, remove {how:?} mode",
            args.rounds
        );
        let t = missing::run(args.rounds, seed, how)?;
        println!(
            "rounds={} lossy={} refused={} salvage_reported={} undetectable={} silent={} phantom={}",
            t.rounds, t.lossy, t.refused, t.salvage_reported, t.undetectable, t.silent, t.phantom
        );
        return Ok(if t.silent == 0 && t.phantom == 0 {
            0
        } else {
            1
        });
    }
    let checkpoint_dir = args.dir.join("checkpoint");
    let data_dirs = if args.data_dirs.is_empty() {
        vec![args.dir.join("data")]
    } else {
        args.data_dirs.clone()
    };
    println!(
        "crashtest: {} rounds, seed {seed}, {} mode, {} data dir(s)",
        args.rounds,
        if args.power_loss {
            "power-loss (simulated)"
        } else {
            "SIGKILL"
        },
        data_dirs.len()
    );
    let plan = Plan {
        args: &args,
        seed,
        ckpt: &checkpoint_dir,
        dirs: &data_dirs,
    };
    let ledger = if args.power_loss {
        power_loss::run(plan)?
    } else {
        kill::run(plan)?
    };
    let r = ledger.report(args.rounds);
    println!("order violations: {}", r.misordered);
    println!("unknown events: {}", r.foreign);
    println!(
        "rounds={} acked={} recovered={} lost={} duplicated={}",
        r.rounds, r.acked, r.recovered, r.lost, r.duplicated
    );
    let dup_ok = !args.exactly_once || r.duplicated == 0;
    Ok(
        if r.lost == 0 && r.misordered == 0 && r.foreign == 0 && dup_ok {
            0
        } else {
            1
        },
    )
}
