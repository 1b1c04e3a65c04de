//! `sluice channel put` and `sluice channel take`: line-oriented access to a channel on disk,
//! for people and for crash tests. Either may be killed at any moment without harm: a line
//! counts as stored only once `committed <total>` covering it is printed, and a taken line is
//! committed only after it was written and flushed to stdout.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Context;
use sluice_core::{Event, FileChannel};

use super::ChannelArgs;

/// Arguments of `sluice channel put`.
#[derive(clap::Args, Debug)]
pub struct PutArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Lines per transaction.
    #[arg(long, default_value_t = 100)]
    batch: usize,
}

/// Arguments of `sluice channel take`.
#[derive(clap::Args, Debug)]
pub struct TakeArgs {
    #[command(flatten)]
    channel: ChannelArgs,
    /// Events per transaction.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Stop after this many events.
    #[arg(long)]
    max: Option<u64>,
    /// Keep waiting for events instead of exiting when the channel is empty.
    #[arg(long)]
    follow: bool,
}

/// Runs `sluice channel put`.
pub fn put(args: PutArgs) -> anyhow::Result<i32> {
    let config = args.channel.config()?;
    let batch = args.batch.max(1);
    let channel = FileChannel::open(config).context("cannot open the channel")?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut total: u64 = 0;
    let mut tx = channel.transaction();
    let mut in_tx = 0usize;
    for line in stdin.lock().split(b'\n') {
        let mut line = line.context("reading stdin")?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        tx.put(Event::new(line)).context("put failed")?;
        in_tx += 1;
        if in_tx == batch {
            tx.commit().context("commit failed")?;
            total += in_tx as u64;
            writeln!(stdout, "committed {total}")?;
            stdout.flush()?;
            tx = channel.transaction();
            in_tx = 0;
        }
    }
    if in_tx > 0 {
        tx.commit().context("commit failed")?;
        total += in_tx as u64;
        writeln!(stdout, "committed {total}")?;
        stdout.flush()?;
    } else {
        tx.rollback();
    }
    channel.close().context("closing the channel")?;
    Ok(0)
}

/// Runs `sluice channel take`.
pub fn take(args: TakeArgs) -> anyhow::Result<i32> {
    let config = args.channel.config()?;
    let batch = args.batch.max(1) as u64;
    let channel = FileChannel::open(config).context("cannot open the channel")?;
    let mut stdout = std::io::stdout().lock();
    let mut total: u64 = 0;
    loop {
        let want = match args.max {
            Some(m) => batch.min(m.saturating_sub(total)),
            None => batch,
        };
        if want == 0 {
            break;
        }
        let mut tx = channel.transaction();
        let mut got = 0u64;
        while got < want {
            match tx.take().context("take failed")? {
                Some(event) => {
                    stdout.write_all(&event.body)?;
                    stdout.write_all(b"\n")?;
                    got += 1;
                }
                None => break,
            }
        }
        stdout.flush()?;
        tx.commit().context("commit failed")?;
        total += got;
        if got == 0 {
            if !args.follow {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    channel.close().context("closing the channel")?;
    Ok(0)
}
