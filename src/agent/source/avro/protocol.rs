//! The avro source's side of the RPC connection machine ([`crate::agent::source::rpc`]):
//! Netty frames answered with their serial; the handshake (one call at a time until it is
//! done, then calls read ahead; the `known` lock held only to look up and remember a hash);
//! a client describing another protocol answered and closed; `append`/`appendBatch` answered
//! `OK` once every required channel committed, `FAILED` otherwise; the upstream identified
//! from the first committed call's metadata for the upstream-gone alarm.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::Shared;
use crate::agent::alarm::upstreams::UpstreamKey;
use crate::agent::source::rpc::read::NextFrame;
use crate::agent::source::rpc::{
    Answer, At, Bad, Begun, Decoded, FrameRead, RpcBase, RpcProtocol, Then,
};
use crate::agent::source::SourceCtx;
use crate::wire::avro::call::CallLimits;
use crate::wire::avro::server::{self, EventCall, ServerConn};
use crate::wire::avro::{encode_frame, AvroError, FrameLimits, FrameReader, Status};
use crate::wire::bodies::Bodies;
use sluice_core::{Bytes, Event};

/// Most buffers in one frame (Flume's client sends 2).
const FRAME_BUFFERS_MAX: usize = crate::wire::avro::frame::FRAME_BUFFERS_MAX_DEFAULT;

/// An avro request without events.
pub(crate) enum Other {
    /// Send these buffers; nothing to put (a handshake, a ping).
    Reply(Vec<Vec<u8>>),
    /// Send these buffers and close (another protocol).
    Refuse {
        reply: Vec<Vec<u8>>,
        error: AvroError,
    },
}

impl FrameRead for FrameReader {
    type Id = i32;

    fn next_frame(&mut self) -> NextFrame<i32> {
        match FrameReader::next_frame(self) {
            Ok(f) => Ok(f.map(|f| (f.serial, f.payload))),
            Err(e) => Err((e.to_string(), e.kind())),
        }
    }
    fn push(&mut self, bytes: &[u8]) {
        FrameReader::push(self, bytes);
    }
    fn pending(&self) -> usize {
        FrameReader::pending(self)
    }
    fn announced(&self) -> usize {
        FrameReader::announced(self)
    }
    fn capacity(&self) -> usize {
        FrameReader::capacity(self)
    }
    fn adopt_buffer(&mut self, v: Vec<u8>) {
        FrameReader::adopt_buffer(self, v);
    }
    fn read_buffer_exact(&mut self, n: usize) -> &mut Vec<u8> {
        FrameReader::read_buffer_exact(self, n)
    }
}

impl RpcProtocol for Shared {
    const NAME: &'static str = "avro";
    type Reader = FrameReader;
    type Conn = ServerConn;
    type Call = EventCall;
    type Other = Other;
    type Error = AvroError;
    type Link = UpstreamGuard;

    fn base(&self) -> &RpcBase {
        &self.rpc
    }

    fn link(shared: &Arc<Self>, ctx: &SourceCtx) -> UpstreamGuard {
        UpstreamGuard {
            ctx: ctx.clone(),
            shared: shared.clone(),
            key: None,
        }
    }

    fn reader(&self, _link: &UpstreamGuard) -> FrameReader {
        let mut reader = FrameReader::new(FrameLimits {
            frame_bytes_max: self.cfg.max_frame_bytes,
            buffers_max: FRAME_BUFFERS_MAX,
        });
        reader.set_home(self.rpc.frame_pool.home());
        reader
    }

    fn conn(&self) -> ServerConn {
        ServerConn::new(CallLimits {
            events_max: self.cfg.max_events_per_call,
            ..CallLimits::default()
        })
    }

    fn gauges(&self) -> Vec<(&'static str, String)> {
        let peers = self.peers.recent(Instant::now());
        vec![("UpstreamPeerCount", peers.to_string())]
    }

    fn seen(&self, peer: SocketAddr) {
        self.peers.seen(peer.ip(), Instant::now());
    }

    fn reads_ahead(conn: &ServerConn) -> bool {
        conn.handshaken()
    }

    fn begin(&self, conn: &mut ServerConn, payload: &Bytes) -> Result<Begun<Self>, AvroError> {
        Ok(
            match conn.begin(payload, &mut |req| self.answer_handshake(req))? {
                server::Begun::Reply(b) => Begun::Other(Other::Reply(b)),
                server::Begun::Refuse { reply, error } => {
                    Begun::Other(Other::Refuse { reply, error })
                }
                server::Begun::Events(call) => Begun::Call(call),
            },
        )
    }

    fn decode(
        &self,
        call: &EventCall,
        payload: &Bytes,
        cost_max: u64,
    ) -> Result<(Vec<Event>, u64), AvroError> {
        call.decode(payload, Bodies::Share(payload), cost_max)
    }

    fn cost(&self, call: &EventCall, payload: &Bytes) -> Result<u64, AvroError> {
        call.cost(payload)
    }

    fn over_budget(e: &AvroError) -> bool {
        matches!(e, AvroError::OverBudget { .. })
    }

    fn too_long(call: &EventCall, cost: u64, total: u64) -> AvroError {
        AvroError::TooLong {
            what: "decoded call (max-inflight-bytes / 2)",
            len: cost,
            max: total,
            offset: call.params_at,
        }
    }

    fn batch(call: &EventCall) -> bool {
        call.batch
    }

    fn bad_input(&self, at: At<'_>, _first: &[u8], what: &str, kind: &str) {
        if let Some(closed) = self.rpc.closed_for(at, Self::NAME, what, kind) {
            let (source, peer) = (&at.ctx.name, at.peer);
            tracing::warn!(source = %source, %peer, kind, closed, "avro connection closed: {what}");
        }
    }

    fn answer(
        &self,
        link: &mut UpstreamGuard,
        at: At<'_>,
        serial: i32,
        done: Result<Decoded<Self>, Bad<Self>>,
        out: &mut Vec<u8>,
    ) -> Answer {
        let valid = matches!(
            done,
            Ok(Decoded::Other(Other::Reply(_)) | Decoded::Committed { .. })
        );
        let (bufs, then) = match done {
            Err(Bad { error, .. }) => {
                self.bad_input(at, &[], &error.to_string(), error.kind());
                return Answer {
                    valid,
                    then: Then::End,
                };
            }
            Ok(Decoded::Other(Other::Reply(bufs))) => (bufs, Then::Send),
            Ok(Decoded::Other(Other::Refuse { reply, error })) => {
                self.bad_input(at, &[], &error.to_string(), error.kind());
                (reply, Then::SendAndClose)
            }
            Ok(Decoded::Busy { call, .. } | Decoded::Events { call, .. }) => {
                let reply = ServerConn::status_reply(call.handshake, Status::Failed);
                (reply.to_vec(), Then::Send)
            }
            Ok(Decoded::Committed { call, committed }) => {
                if link.key.is_none() {
                    link.identify(at.peer, &call.meta);
                }
                self.peers.seen(at.peer.ip(), Instant::now());
                let reply = ServerConn::status_reply(call.handshake, Status::of(committed));
                (reply.to_vec(), Then::Send)
            }
        };
        encode_frame(serial, &bufs, out);
        Answer { valid, then }
    }
}

/// Counts this connection as one of its upstream's from its first call (when the call
/// metadata says who it is) until the connection ends, however it ends.
pub(crate) struct UpstreamGuard {
    ctx: SourceCtx,
    shared: Arc<Shared>,
    key: Option<UpstreamKey>,
}

impl UpstreamGuard {
    fn identify(&mut self, peer: SocketAddr, meta: &[(String, Vec<u8>)]) {
        let key = UpstreamKey::from_meta(peer.ip(), meta);
        self.ctx
            .alarms
            .upstream_opened(&self.ctx.name, &self.shared.upstreams, &key);
        self.key = Some(key);
    }
}

impl Drop for UpstreamGuard {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.ctx.alarms.upstream_closed(&self.shared.upstreams, key);
        }
    }
}
