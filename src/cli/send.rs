//! `sluice send`: sends lines to a netcat source in its line protocol (one event per line, one
//! `OK` or `FAILED: ...` reply per line) and checks every reply, so trying Sluice needs no
//! `nc`. Lines come from the arguments or, without any, from stdin. At most [`WINDOW`] lines
//! are unanswered at a time, every connect, write and read has a timeout, and the exit code is
//! 0 only when every line was answered `OK` (1 when one was refused, 3 when the source could
//! not be reached or stopped answering).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cli::exit::{self, Usage};

/// Lines sent before waiting for their replies.
pub const WINDOW: usize = 100;
/// The longest reply read (the source's replies are short).
const REPLY_BYTES_MAX: u64 = 4096;
/// The longest line sent (the netcat source's own limit, `max-line-length`, is 512 by default).
pub const LINE_BYTES_MAX: u64 = 1 << 20;

/// Arguments of `sluice send`.
#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// Host of the netcat source.
    #[arg(short = 'H', long = "host", default_value = "localhost")]
    pub host: String,
    /// Port of the netcat source.
    #[arg(short = 'p', long = "port", default_value_t = 44444)]
    pub port: u16,
    /// Seconds to wait to connect and for each reply.
    #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 10)]
    pub timeout_secs: u64,
    /// Do not wait for replies (for a source with `ack-every-event = false`).
    #[arg(long = "no-ack")]
    pub no_ack: bool,
    /// Lines to send; without any, the lines of stdin are sent.
    pub lines: Vec<String>,
}

fn connect(args: &SendArgs, timeout: Duration) -> anyhow::Result<TcpStream> {
    let addrs = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {}", args.host))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, e)) => Err(e).with_context(|| {
            format!("cannot connect to {addr} (is an agent with a netcat source running there?)")
        }),
        None => bail!("{} has no address", args.host),
    }
}

/// Whether `e` is a socket timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO` expiring reads as EAGAIN,
/// "Resource temporarily unavailable", which says nothing to a user).
fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Reads the reply to line number `line`; `Ok(None)` when the source closed the connection.
fn reply(
    reader: &mut impl BufRead,
    line: usize,
    timeout: Duration,
) -> anyhow::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = match reader.take(REPLY_BYTES_MAX).read_until(b'\n', &mut buf) {
        Ok(got) => got,
        Err(e) if timed_out(&e) => bail!(
            "no reply to line {line} within {} s (is the agent overloaded, or is this not a netcat \
             source? --timeout sets the wait)",
            timeout.as_secs()
        ),
        Err(e) => return Err(e).context("waiting for the source's reply"),
    };
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&buf).trim_end().to_owned()))
}

/// Reads up to [`WINDOW`] lines from `input` into `chunk` (each ending in `\n`); how many.
fn next_chunk(input: &mut dyn BufRead, chunk: &mut Vec<u8>, first: usize) -> anyhow::Result<usize> {
    chunk.clear();
    let mut n = 0;
    while n < WINDOW {
        let start = chunk.len();
        let got = input
            .take(LINE_BYTES_MAX + 1)
            .read_until(b'\n', chunk)
            .context("reading the lines to send")?;
        if got == 0 {
            break;
        }
        if chunk.last() != Some(&b'\n') {
            if (chunk.len() - start) as u64 > LINE_BYTES_MAX {
                return Err(Usage(format!(
                    "line {} is longer than {LINE_BYTES_MAX} bytes",
                    first + n + 1
                ))
                .into());
            }
            chunk.push(b'\n');
        }
        n += 1;
    }
    Ok(n)
}

/// Runs `sluice send`.
pub fn run(args: SendArgs) -> anyhow::Result<i32> {
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let joined: Vec<u8> = args
        .lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let stdin = std::io::stdin();
    let mut input: Box<dyn BufRead> = if args.lines.is_empty() {
        Box::new(stdin.lock())
    } else {
        Box::new(std::io::Cursor::new(joined))
    };
    let stream = connect(&args, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut writer = stream.try_clone().context("cloning the connection")?;
    let mut reader = BufReader::new(stream);
    let (mut sent, mut ok, mut failed) = (0usize, 0usize, 0usize);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut chunk = Vec::new();
    loop {
        let lines = next_chunk(&mut input, &mut chunk, sent)?;
        if lines == 0 {
            break;
        }
        match writer.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if timed_out(&e) => bail!(
                "the source took no lines within {} s (--timeout sets the wait)",
                timeout.as_secs()
            ),
            Err(e) => return Err(e).context("sending lines to the source"),
        }
        let first = sent;
        sent += lines;
        if args.no_ack {
            continue;
        }
        for i in 0..lines {
            let n = first + i + 1;
            match reply(&mut reader, n, timeout)? {
                None => bail!("the source closed the connection before answering line {n}"),
                Some(r) if r == "OK" => {
                    ok += 1;
                    writeln!(out, "OK").context("writing to stdout")?;
                }
                Some(r) if r.starts_with("FAILED") => {
                    failed += 1;
                    eprintln!("sluice send: line {n}: {r}");
                }
                Some(r) => bail!("line {n}: unexpected reply {r:?} (is this a netcat source?)"),
            }
        }
    }
    writer.flush().ok();
    let _ = writer.shutdown(std::net::Shutdown::Write);
    if args.no_ack {
        eprintln!("sluice send: {sent} lines sent (replies not awaited)");
        return Ok(exit::OK);
    }
    eprintln!("sluice send: {sent} lines sent, {ok} OK, {failed} FAILED");
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::FAILED_CHECK
    })
}
