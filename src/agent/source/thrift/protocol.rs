//! The thrift source's side of the RPC connection machine ([`crate::agent::source::rpc`]):
//!
//! - `append`/`appendBatch`: `OK` once every required channel committed, `FAILED` otherwise
//!   (Flume's `ThriftSource` does the same); a oneway call is put and not answered (the
//!   answers of the calls around it keep their order).
//! - An unknown method: a `TApplicationException` `UNKNOWN_METHOD`; the connection stays, as
//!   in Thrift's own servers.
//! - A call whose arguments are garbage or over a limit: `PROTOCOL_ERROR`, then the
//!   connection is closed, with one log line and `EventReadFail`.
//! - Bytes that are not a Thrift message in this source's protocol: closed at once, the log
//!   line naming what the peer probably speaks (from the connection's first bytes, [`First`]).

use std::sync::Arc;

use parking_lot::Mutex;

use super::Shared;
use crate::agent::source::rpc::read::NextFrame;
use crate::agent::source::rpc::{
    read, Answer, At, Bad, Begun, Decoded, FrameRead, RpcBase, RpcProtocol, Then,
};
use crate::agent::source::SourceCtx;
use crate::wire::bodies::Bodies;
use crate::wire::thrift::probe::{encode_probe_reply, PROBE_METHOD};
use crate::wire::thrift::service::HEADERS_PER_EVENT_MAX_DEFAULT;
use crate::wire::thrift::sniff::{probable_cause, SNIFF_BYTES};
use crate::wire::thrift::{
    begin, encode_exception, encode_reply, CallLimits, EventCall, ExceptionKind, FrameReader,
    Method, Status, ThriftError,
};
use sluice_core::{Bytes, Event};

/// The first bytes a connection received.
#[derive(Debug, Default, Clone)]
pub(crate) struct First {
    bytes: [u8; SNIFF_BYTES],
    len: usize,
}

impl First {
    /// Keeps what of `b` is among the first bytes; whether anything was.
    fn keep(&mut self, b: &[u8]) -> bool {
        let n = (SNIFF_BYTES - self.len).min(b.len());
        if let (Some(to), Some(from)) = (self.bytes.get_mut(self.len..self.len + n), b.get(..n)) {
            to.copy_from_slice(from);
            self.len += n;
        }
        n > 0
    }

    /// The bytes kept.
    pub(crate) fn get(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// A thrift frame reader that keeps the connection's first bytes (also for its answers).
pub(crate) struct Reader {
    inner: FrameReader,
    first: First,
    link: Arc<Mutex<First>>,
}

impl FrameRead for Reader {
    type Id = ();

    fn next_frame(&mut self) -> NextFrame<()> {
        match self.inner.next_frame() {
            Ok(p) => Ok(p.map(|p| ((), p))),
            Err(e) => Err((e.to_string(), e.kind())),
        }
    }
    fn push(&mut self, bytes: &[u8]) {
        if self.first.keep(bytes) {
            *self.link.lock() = self.first.clone();
        }
        self.inner.push(bytes);
    }
    fn pending(&self) -> usize {
        self.inner.pending()
    }
    fn announced(&self) -> usize {
        self.inner.announced()
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
    fn adopt_buffer(&mut self, v: Vec<u8>) {
        self.inner.adopt_buffer(v);
    }
    fn read_buffer_exact(&mut self, n: usize) -> &mut Vec<u8> {
        self.inner.read_buffer_exact(n)
    }
    fn first(&self) -> &[u8] {
        self.first.get()
    }
}

/// A request of a method this service does not have.
pub(crate) struct Unknown {
    name: String,
    seqid: i32,
    oneway: bool,
}

fn limits(shared: &Shared) -> CallLimits {
    CallLimits {
        events_max: shared.cfg.max_events_per_call,
        headers_max: HEADERS_PER_EVENT_MAX_DEFAULT,
    }
}

impl RpcProtocol for Shared {
    const NAME: &'static str = "thrift";
    type Reader = Reader;
    type Conn = ();
    type Call = EventCall;
    type Other = Unknown;
    type Error = ThriftError;
    /// The connection's first bytes.
    type Link = Arc<Mutex<First>>;

    fn base(&self) -> &RpcBase {
        &self.rpc
    }

    fn link(_shared: &Arc<Self>, _ctx: &SourceCtx) -> Arc<Mutex<First>> {
        Arc::default()
    }

    fn reader(&self, link: &Arc<Mutex<First>>) -> Reader {
        let mut inner = FrameReader::new(self.cfg.max_frame_bytes);
        inner.set_home(self.rpc.frame_pool.home());
        Reader {
            inner,
            first: First::default(),
            link: link.clone(),
        }
    }

    fn conn(&self) {}

    fn begin(&self, _conn: &mut (), payload: &Bytes) -> Result<Begun<Self>, ThriftError> {
        Ok(match begin(payload, self.cfg.protocol)? {
            crate::wire::thrift::Begun::Unknown {
                name,
                seqid,
                oneway,
            } => Begun::Other(Unknown {
                name,
                seqid,
                oneway,
            }),
            crate::wire::thrift::Begun::Events(call) => Begun::Call(call),
        })
    }

    fn decode(
        &self,
        call: &EventCall,
        payload: &Bytes,
        cost_max: u64,
    ) -> Result<(Vec<Event>, u64), ThriftError> {
        call.decode(payload, Bodies::Share(payload), &limits(self), cost_max)
    }

    fn cost(&self, call: &EventCall, payload: &Bytes) -> Result<u64, ThriftError> {
        call.cost(payload, &limits(self))
    }

    fn over_budget(e: &ThriftError) -> bool {
        matches!(e, ThriftError::OverBudget { .. })
    }

    fn too_long(_call: &EventCall, cost: u64, total: u64) -> ThriftError {
        ThriftError::TooLong {
            what: "decoded call (max-inflight-bytes / 2)",
            len: cost,
            max: total,
            offset: 0,
        }
    }

    fn batch(call: &EventCall) -> bool {
        call.method == Method::AppendBatch
    }

    /// `first` names the probable cause when it is not framed Thrift.
    fn bad_input(&self, at: At<'_>, first: &[u8], what: &str, kind: &str) {
        let Some(closed) = self.rpc.closed_for(at, Self::NAME, what, kind) else {
            return;
        };
        let (source, peer, protocol) = (&at.ctx.name, at.peer, self.cfg.protocol.name());
        match probable_cause(first, self.cfg.protocol) {
            Some(cause) => {
                tracing::warn!(source = %source, %peer, kind, closed, protocol, "thrift connection closed: {what}; the peer probably sent {cause}")
            }
            None => {
                tracing::warn!(source = %source, %peer, kind, closed, protocol, "thrift connection closed: {what}")
            }
        }
    }

    fn read_failed_kind(e: &std::io::Error) -> Option<&'static str> {
        read::ratio_kind(e)
    }

    fn answer(
        &self,
        link: &mut Arc<Mutex<First>>,
        at: At<'_>,
        _id: (),
        done: Result<Decoded<Self>, Bad<Self>>,
        out: &mut Vec<u8>,
    ) -> Answer {
        let protocol = self.cfg.protocol;
        let valid = done.is_ok();
        let then = match done {
            Err(Bad { call, error }) => {
                let first = link.lock().clone();
                let what = error.to_string();
                self.bad_input(at, first.get(), &what, error.kind());
                match call {
                    Some(c) if !c.oneway => {
                        let (kind, name) = (ExceptionKind::ProtocolError, c.method.name());
                        encode_exception(protocol, name, c.seqid, kind, &what, out);
                        Then::SendAndClose
                    }
                    // Not a message in this protocol, or nobody waits for the answer.
                    _ => Then::End,
                }
            }
            Ok(Decoded::Other(u)) => self.unknown(at, u, out),
            Ok(Decoded::Busy { call, .. } | Decoded::Events { call, .. }) => {
                reply(out, protocol, &call, Status::Failed)
            }
            Ok(Decoded::Committed { call, committed }) => {
                reply(out, protocol, &call, Status::of(committed))
            }
        };
        Answer { valid, then }
    }
}

impl Shared {
    /// `UNKNOWN_METHOD` (nothing for a oneway call); the connection stays. The one method
    /// beyond Flume's, a sink's event-id probe, is answered ([`PROBE_METHOD`]).
    fn unknown(&self, at: At<'_>, u: Unknown, out: &mut Vec<u8>) -> Then {
        if u.name == PROBE_METHOD && !u.oneway {
            // A Sluice thrift sink asking whether this source takes event ids: it does.
            encode_probe_reply(self.cfg.protocol, u.seqid, out);
            return Then::Send;
        }
        let safe = crate::agent::log_text::escape(&u.name);
        let (source, peer) = (&at.ctx.name, at.peer);
        tracing::warn!(source = %source, %peer, method = %safe, "thrift call of an unknown method answered UNKNOWN_METHOD");
        if u.oneway {
            return Then::Nothing;
        }
        let msg = format!("Invalid method name: '{safe}'");
        let kind = ExceptionKind::UnknownMethod;
        encode_exception(self.cfg.protocol, &u.name, u.seqid, kind, &msg, out);
        Then::Send
    }
}

/// A call's reply with `status` (nothing for a oneway call).
fn reply(
    out: &mut Vec<u8>,
    protocol: crate::wire::thrift::Protocol,
    call: &EventCall,
    status: Status,
) -> Then {
    if call.oneway {
        return Then::Nothing;
    }
    encode_reply(protocol, call.method.name(), call.seqid, status, out);
    Then::Send
}
