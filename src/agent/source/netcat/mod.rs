//! The `netcat` source: newline-terminated lines over TCP, one event per line.
//!
//! Lines already received together form one batch (one transaction per channel); with
//! `ack-every-event` each of them is answered `OK` only after the batch was committed to every
//! required channel, or `FAILED: ...` if it was not. A line longer than `max-line-length`
//! bytes (newline included) is answered `FAILED` and dropped. A trailing `\r` is removed.
//!
//! Limits: at most `maxConnections` connections at once (more are closed at once, logged at
//! most every 10 s and counted as `ConnectionRefusedCount`); a reply that the peer does not read within
//! [`REPLY_WRITE_TIMEOUT`] ends the connection, and so does the source's stop signal, so a
//! client that never reads can hold neither a task nor a shutdown.

pub(crate) mod config;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::listener::Listener;
use super::{SourceCtx, SourceError};
use crate::agent::metrics::SourceCounter;
use crate::wire::lines::{LineSplitter, Piece};
pub(crate) use config::NetcatConfig;
use sluice_core::Event;

/// Most lines put in one batch.
pub(crate) const BATCH_LINES_MAX: usize = 100;
/// Longest wait for the peer to take our replies.
pub(crate) const REPLY_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Listens until stopped; connections finish the batch they are putting.
pub(crate) async fn run(cfg: NetcatConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = Listener::bind(&ctx, &cfg.bind, &[cfg.port], cfg.max_connections).await?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, max_connections = cfg.max_connections, "netcat source listening");
    let conn_ctx = ctx.clone();
    listener
        .serve(&ctx, move |stream, _peer, _port| {
            connection(stream, cfg.clone(), conn_ctx.clone())
        })
        .await;
    Ok(())
}

/// Writes `bytes` unless the peer does not take them within [`REPLY_WRITE_TIMEOUT`] or the
/// source is stopped first. Returns whether it was written.
async fn reply(stream: &mut TcpStream, bytes: &[u8], ctx: &SourceCtx) -> bool {
    let mut stop = ctx.stop.clone();
    tokio::select! {
        _ = stop.wait() => false,
        r = tokio::time::timeout(REPLY_WRITE_TIMEOUT, stream.write_all(bytes)) => match r {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::warn!(source = %ctx.name, timeout_ms = REPLY_WRITE_TIMEOUT.as_millis() as u64, "peer does not read its replies; closing the connection");
                false
            }
        },
    }
}

async fn connection(mut stream: TcpStream, cfg: NetcatConfig, mut ctx: SourceCtx) {
    let mut lines = LineSplitter::new(cfg.max_line_length);
    let mut chunk = vec![0u8; 8192];
    let mut stop = ctx.stop.clone();
    // A too-long verdict met while a batch was being gathered, answered after that batch.
    let mut held_back = false;
    loop {
        let mut batch = Vec::new();
        let mut replies = String::new();
        if held_back {
            held_back = false;
            replies.push_str(&too_long(&cfg, &ctx));
        }
        while batch.len() < BATCH_LINES_MAX {
            match lines.next_piece() {
                None => break,
                Some(Piece::Line(line)) => batch.push(Event::new(line)),
                Some(Piece::TooLong) if batch.is_empty() => replies.push_str(&too_long(&cfg, &ctx)),
                Some(Piece::TooLong) => {
                    held_back = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let n = batch.len();
            let ok = ctx.put_once(batch).await;
            if cfg.ack_every_event {
                let answer = if ok {
                    "OK\n"
                } else {
                    "FAILED: event not accepted by a required channel\n"
                };
                for _ in 0..n {
                    replies.push_str(answer);
                }
            }
        }
        if !replies.is_empty() && !reply(&mut stream, replies.as_bytes(), &ctx).await {
            return;
        }
        if held_back || lines.has_unscanned() {
            continue;
        }
        let n = tokio::select! {
            _ = stop.wait() => return,
            r = stream.read(&mut chunk) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
        };
        lines.push(&chunk[..n]);
    }
}

fn too_long(cfg: &NetcatConfig, ctx: &SourceCtx) -> String {
    ctx.counters.add(SourceCounter::EventReadFail, 1);
    format!(
        "FAILED: Event exceeds the maximum length ({} chars, including newline)\n",
        cfg.max_line_length
    )
}

impl crate::agent::source::BuildSource for NetcatConfig {
    fn listens(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
