//! `sluice avro-client`: sends the lines of a file (or stdin) to an avro source, as Flume's
//! `flume-ng avro-client`, in `appendBatch` calls of `--batch` lines. Exit codes (those of every
//! subcommand, `crate::cli::exit`): 0 when every line was acknowledged (`OK`), 1 when a batch
//! was not acknowledged (`FAILED`, an error, a timeout or a broken connection; the lines before
//! it were), 2 for bad arguments, 3 when the source cannot be reached (connect or handshake)
//! or the input cannot be read.

use sluice_core::Headers;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sluice::agent::rpc::avro_client::{AvroClient, AvroClientConfig};
use sluice_core::Event;

/// Exit code: the source could not be reached.
pub const EXIT_UNREACHABLE: i32 = crate::cli::exit::CANNOT_RUN;
/// Exit code: a batch was not acknowledged.
pub const EXIT_NOT_ACKNOWLEDGED: i32 = crate::cli::exit::FAILED_CHECK;

/// Arguments of `sluice avro-client`.
#[derive(clap::Args, Debug, Clone)]
pub struct AvroClientArgs {
    /// Host of the avro source.
    #[arg(short = 'H', long = "host")]
    pub host: String,
    /// Port of the avro source.
    #[arg(short = 'p', long = "port")]
    pub port: u16,
    /// File whose lines are sent (default: standard input).
    #[arg(short = 'F', long = "filename")]
    pub filename: Option<PathBuf>,
    /// Lines per `appendBatch` call.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,
    /// A header added to every event, `KEY=VALUE` (repeatable).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub header: Vec<String>,
    /// Connect and handshake timeout in ms (Flume's connect-timeout).
    #[arg(long, default_value_t = 20_000)]
    pub connect_timeout: u64,
    /// Timeout of each call in ms (Flume's request-timeout).
    #[arg(long, default_value_t = 20_000)]
    pub request_timeout: u64,
}

/// Runs the subcommand; returns the exit code.
pub fn run(args: AvroClientArgs) -> anyhow::Result<i32> {
    crate::cli::logging::init("warn");
    let mut headers = Headers::new();
    for kv in &args.header {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(
                crate::cli::exit::Usage(format!("--header {kv:?}: expected KEY=VALUE")).into(),
            );
        };
        headers.insert(k, v);
    }
    let input: Box<dyn BufRead> = match &args.filename {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(send(&args, headers, input))
}

async fn send(
    args: &AvroClientArgs,
    headers: Headers,
    mut input: Box<dyn BufRead>,
) -> anyhow::Result<i32> {
    let cfg = AvroClientConfig {
        connect_timeout: Duration::from_millis(args.connect_timeout.max(1)),
        request_timeout: Duration::from_millis(args.request_timeout.max(1)),
        ..AvroClientConfig::default()
    };
    let addr = format!("{}:{}", args.host, args.port);
    let mut client = match AvroClient::connect(&addr, cfg).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice avro-client: {e}");
            return Ok(EXIT_UNREACHABLE);
        }
    };
    let mut acked = 0u64;
    let mut batch = Vec::with_capacity(args.batch as usize);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading input after line {line_no}"))?;
        if n > 0 {
            line_no += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            batch.push(Event::with_headers(headers.clone(), line.clone()));
        }
        if (n == 0 && !batch.is_empty()) || batch.len() as u64 >= args.batch {
            if let Err(e) = client.append_batch(&batch).await {
                eprintln!(
                    "sluice avro-client: batch of lines {}-{} not acknowledged: {e}; {acked} lines were",
                    acked + 1,
                    acked + batch.len() as u64
                );
                return Ok(EXIT_NOT_ACKNOWLEDGED);
            }
            acked += batch.len() as u64;
            batch.clear();
        }
        if n == 0 {
            break;
        }
    }
    eprintln!("sluice avro-client: {acked} lines acknowledged by {addr}");
    Ok(0)
}
