//! `sluice tap --url http://HOST:PORT [--component NAME] [--limit N] [--rate R]`: prints the
//! events a running agent samples at its tap points (`GET /tap` on its monitoring server;
//! the agent must run with `-Dflume.monitoring.tap=loopback`), one JSON line each, until
//! `--limit` lines were printed (or forever). A stream the server ends (connections live at
//! most 60 s) is opened again. Exit codes: 0 done, 2 bad arguments, 3 the agent cannot be
//! reached or refuses the tap. The HTTP side of a stream is `cli/tap_stream.rs`'s.

use std::io::Write;

use crate::cli::exit;
use crate::cli::tap_stream;

/// Arguments of `sluice tap`.
#[derive(clap::Args, Debug)]
pub struct TapArgs {
    /// The agent's monitoring server, `http://HOST:PORT`.
    #[arg(long)]
    pub url: String,
    /// Only this component's events (a source, channel or sink name).
    #[arg(long)]
    pub component: Option<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Events per second the agent sends at most (1 to 10000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
}

fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| exit::Usage(format!("--url {url:?}: expected http://HOST:PORT")))?;
    let hp = rest.trim_end_matches('/');
    if hp.is_empty() || hp.contains('/') {
        return Err(exit::Usage(format!("--url {url:?}: expected http://HOST:PORT")).into());
    }
    Ok(hp.to_owned())
}

/// Runs the subcommand.
pub fn run(args: TapArgs) -> anyhow::Result<i32> {
    let hp = host_port(&args.url)?;
    let mut printed = 0u64;
    let stdout = std::io::stdout();
    loop {
        let mut out = stdout.lock();
        let more = stream(&hp, &args, &mut printed, &mut out)?;
        if !more {
            return Ok(exit::OK);
        }
    }
}

/// One connection: prints lines until the limit (false) or the stream ends (true).
fn stream(
    hp: &str,
    args: &TapArgs,
    printed: &mut u64,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let mut q = format!("rate={}", args.rate);
    if let Some(c) = &args.component {
        q.push_str(&format!("&component={c}"));
    }
    let mut r = tap_stream::open(hp, &q)?;
    tap_stream::copy_lines(&mut r, args.limit, printed, out)
}
