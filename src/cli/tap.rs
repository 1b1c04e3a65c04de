//! `sluice tap --url http://HOST:PORT [--component NAME] [--limit N] [--rate R]`: prints the
//! events a running agent samples at its tap points (`GET /tap` on its monitoring server;
//! the agent must run with `-Dflume.monitoring.tap=loopback`), one JSON line each, until
//! `--limit` lines were printed (or forever). A stream the server ends (connections live at
//! most 60 s) is opened again. Exit codes: 0 done, 2 bad arguments, 3 the agent cannot be
//! reached or refuses the tap.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cli::exit;

/// Time to connect and to get the answer's head.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence on a stream before it is opened again (past the server's connection life).
pub const READ_TIMEOUT: Duration = Duration::from_secs(70);
/// Longest chunk accepted from the server.
pub const CHUNK_BYTES_MAX: usize = 1 << 20;

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
    let addr = hp
        .to_socket_addrs()
        .with_context(|| format!("resolving {hp}"))?
        .next()
        .with_context(|| format!("{hp} has no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .with_context(|| format!("connecting to {hp}"))?;
    s.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    s.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    let mut q = format!("rate={}", args.rate);
    if let Some(c) = &args.component {
        q.push_str(&format!("&component={c}"));
    }
    write!(
        s,
        "GET /tap?{q} HTTP/1.1\r\nHost: {hp}\r\nConnection: close\r\n\r\n"
    )?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).context("reading the answer")?;
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if h.to_ascii_lowercase().starts_with("transfer-encoding:")
            && h.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    if code != 200 {
        let mut body = String::new();
        let _ = r.take(64 * 1024).read_to_string(&mut body);
        bail!("the agent refused the tap ({code}): {}", body.trim());
    }
    if !chunked {
        bail!("the agent's answer is not a stream");
    }
    r.get_ref().set_read_timeout(Some(READ_TIMEOUT))?;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let mut size = String::new();
        match r.read_line(&mut size) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(true)
            }
            Err(e) => return Err(e).context("reading the tap"),
        }
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .context("a malformed chunk from the agent")?;
        if n == 0 {
            return Ok(true);
        }
        if n > CHUNK_BYTES_MAX {
            bail!("a chunk of {n} bytes from the agent (at most {CHUNK_BYTES_MAX})");
        }
        let mut chunk = vec![0u8; n + 2];
        r.read_exact(&mut chunk).context("reading the tap")?;
        chunk.truncate(n);
        pending.extend_from_slice(&chunk);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            out.write_all(&line)?;
            *printed += 1;
            if args.limit.is_some_and(|l| *printed >= l) {
                out.flush()?;
                return Ok(false);
            }
        }
        out.flush()?;
    }
}
