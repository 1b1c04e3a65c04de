//! The `netcat` source: newline-terminated lines over TCP, one event per line.
//!
//! Lines already received together form one batch (one transaction per channel); with
//! `ack-every-event` each of them is answered `OK` only after the batch was committed to every
//! required channel, or `FAILED: ...` if it was not. A line longer than `max-line-length`
//! bytes (newline included) is answered `FAILED` and dropped. A trailing `\r` is removed.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::{SourceCtx, SourceError};
use crate::agent::config::types::NetcatConfig;
use crate::event::Event;

/// Most lines put in one batch.
pub const BATCH_LINES_MAX: usize = 100;

/// Listens until stopped; connections finish the batch they are putting.
pub async fn run(cfg: NetcatConfig, ctx: SourceCtx) -> Result<(), SourceError> {
    let listener = TcpListener::bind((cfg.bind.as_str(), cfg.port))
        .await
        .map_err(|e| ctx.error(format!("cannot listen on {}:{}: {e}", cfg.bind, cfg.port)))?;
    tracing::info!(source = %ctx.name, bind = %cfg.bind, port = cfg.port, "netcat source listening");
    let mut conns = JoinSet::new();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(source = %ctx.name, %peer, "connection");
                    conns.spawn(connection(stream, cfg.clone(), ctx.clone()));
                }
                Err(e) => tracing::warn!(source = %ctx.name, error = %e, "accept failed"),
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
    Ok(())
}

async fn connection(mut stream: TcpStream, cfg: NetcatConfig, mut ctx: SourceCtx) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 8192];
    let mut discarding = false;
    let mut stop = ctx.stop.clone();
    loop {
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        while batch.len() < BATCH_LINES_MAX {
            let Some(pos) = buf.iter().position(|&b| b == b'\n') else {
                break;
            };
            if discarding {
                buf.drain(..=pos);
                discarding = false;
                continue;
            }
            if pos + 1 > cfg.max_line_length {
                if !batch.is_empty() {
                    break;
                }
                buf.drain(..=pos);
                replies.push(too_long(&cfg, &ctx));
                continue;
            }
            let mut line: Vec<u8> = buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            batch.push(Event::new(line));
        }
        if !batch.is_empty() {
            let n = batch.len();
            let ok = ctx.put_once(batch).await;
            if cfg.ack_every_event {
                let reply = if ok {
                    "OK\n"
                } else {
                    "FAILED: event not accepted by a required channel\n"
                };
                replies.extend(std::iter::repeat_n(reply.to_owned(), n));
            }
        }
        if !buf.contains(&b'\n') {
            if discarding {
                buf.clear();
            } else if buf.len() >= cfg.max_line_length {
                buf.clear();
                discarding = true;
                replies.push(too_long(&cfg, &ctx));
            }
        }
        if !replies.is_empty() && stream.write_all(replies.concat().as_bytes()).await.is_err() {
            return;
        }
        if buf.contains(&b'\n') {
            continue;
        }
        let n = tokio::select! {
            _ = stop.wait() => return,
            r = stream.read(&mut chunk) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
        };
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn too_long(cfg: &NetcatConfig, ctx: &SourceCtx) -> String {
    ctx.counters.add("EventReadFail", 1);
    format!(
        "FAILED: Event exceeds the maximum length ({} chars, including newline)\n",
        cfg.max_line_length
    )
}
