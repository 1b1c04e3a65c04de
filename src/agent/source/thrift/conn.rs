//! One connection of the `thrift` source: read a frame (read.rs), take a `threads` permit,
//! decode it (decode.rs), put the events, write the answer within `request-timeout`.
//!
//! - `append`/`appendBatch`: `OK` once every required channel committed, `FAILED` otherwise
//!   (Flume's `ThriftSource` does the same); a oneway call is put and not answered.
//! - An unknown method: a `TApplicationException` `UNKNOWN_METHOD`; the connection stays, as
//!   in Thrift's own servers.
//! - A call whose arguments are garbage or over a limit: `PROTOCOL_ERROR`, then the
//!   connection is closed, with one log line and `EventReadFail`.
//! - Bytes that are not a Thrift message in this source's protocol: closed at once, the log
//!   line naming what the peer probably speaks.
//!
//! The stop signal is watched while waiting for input or for a budget; a call being put is
//! finished. A large call is decoded and put on one blocking thread (decode.rs,
//! [`crate::agent::source::rpc_put`]).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::decode::{self, Decoded, Failed};
use super::read::{First, Reading};
use super::Shared;
use crate::agent::metrics::SourceCounter;
use crate::agent::source::rpc_answer::write_answer;
use crate::agent::source::rpc_put::Putter;
use crate::agent::source::upstream_log::UpstreamLog;
use crate::agent::source::SourceCtx;
use crate::wire::thrift::{encode_exception, encode_reply, ExceptionKind, FrameReader, Status};

/// Serves one connection until the peer leaves, misbehaves, or the source stops.
pub(crate) async fn serve<S>(
    mut stream: S,
    peer: SocketAddr,
    ctx: &SourceCtx,
    shared: &Arc<Shared>,
    log: &mut UpstreamLog<'_>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let cfg = &shared.cfg;
    let protocol = cfg.protocol;
    let mut reading = Reading {
        reader: FrameReader::new(cfg.max_frame_bytes),
        first: First::default(),
        stop: ctx.stop.clone(),
        peer,
        ctx,
        shared,
    };
    reading.reader.set_home(shared.frame_pool.home());
    let mut stop = ctx.stop.clone();
    let mut out = Vec::new();
    let putter = Putter::of(ctx, "thrift");
    loop {
        let Some(received) = reading.next_frame(&mut stream).await else {
            return;
        };
        let deadline = tokio::time::Instant::now() + cfg.request_timeout;
        let _thread = match &shared.threads {
            None => None,
            Some(t) => tokio::select! {
                _ = stop.wait() => return,
                p = t.acquire() => p.ok(),
            },
        };
        let decoded = decode::decode(
            received.payload,
            received.held,
            shared,
            deadline,
            &mut stop,
            &putter,
        )
        .await;
        out.clear();
        let mut close = false;
        if decoded.is_ok() {
            log.valid_call();
        }
        match decoded {
            Err(Failed::Stopped) => return,
            Err(Failed::Head(e)) => {
                super::bad_input(
                    ctx,
                    shared,
                    peer,
                    reading.first.get(),
                    &e.to_string(),
                    e.kind(),
                );
                return;
            }
            Err(Failed::Bad(call, e)) => {
                super::bad_input(
                    ctx,
                    shared,
                    peer,
                    reading.first.get(),
                    &e.to_string(),
                    e.kind(),
                );
                if call.oneway {
                    return;
                }
                let kind = ExceptionKind::ProtocolError;
                encode_exception(
                    protocol,
                    call.method.name(),
                    call.seqid,
                    kind,
                    &e.to_string(),
                    &mut out,
                );
                close = true;
            }
            Ok(Decoded::Unknown {
                name,
                seqid,
                oneway,
            }) => {
                let safe = crate::agent::log_text::escape(&name);
                tracing::warn!(source = %ctx.name, %peer, method = %safe, "thrift call of an unknown method answered UNKNOWN_METHOD");
                if oneway {
                    continue;
                }
                let msg = format!("Invalid method name: '{safe}'");
                encode_exception(
                    protocol,
                    &name,
                    seqid,
                    ExceptionKind::UnknownMethod,
                    &msg,
                    &mut out,
                );
            }
            Ok(Decoded::Busy { call, cost }) => {
                ctx.counters.add(SourceCounter::ChannelWriteFail, 1);
                tracing::warn!(source = %ctx.name, %peer, decoded_bytes = cost, "thrift call answered FAILED: its events would not fit the source's decoded budget within request-timeout (max-inflight-bytes)");
                if call.oneway {
                    continue;
                }
                encode_reply(
                    protocol,
                    call.method.name(),
                    call.seqid,
                    Status::Failed,
                    &mut out,
                );
            }
            Ok(Decoded::Committed { call, status }) => {
                if call.oneway {
                    continue;
                }
                encode_reply(protocol, call.method.name(), call.seqid, status, &mut out);
            }
        }
        let who = (ctx.name.as_str(), "thrift", peer);
        if !write_answer(&mut stream, &out, cfg.request_timeout, who).await {
            return;
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}
