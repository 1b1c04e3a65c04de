//! The server side of one Avro RPC connection as a pure state machine: a frame's payload in,
//! what to do out. It reads the handshake while the connection has none, answers `NONE`
//! (call not run), pings and unknown messages itself, and hands `append`/`appendBatch` to the
//! caller, who answers with [`ServerConn::status_reply`] once the channels decided.

use super::binary::Reader;
use super::call::{
    encode_error_response, encode_status_response, params_cost, read_call_head, read_params,
    CallLimits, Status,
};
use super::error::AvroError;
use super::handshake::{
    answer, HandshakeMatch, HandshakeRequest, HandshakeResponse, KnownClients, Meta,
};
use crate::bodies::Bodies;
use sluice_core::Event;

/// The state of one connection.
#[derive(Debug, Clone)]
pub struct ServerConn {
    handshaken: bool,
    limits: CallLimits,
}

/// What to do with one request.
#[derive(Debug)]
pub enum Action {
    /// Send these buffers; nothing to run (a `NONE` handshake, a ping, an unknown message).
    Reply(Vec<Vec<u8>>),
    /// Put these events into the channels, then answer with [`ServerConn::status_reply`].
    Put {
        /// `appendBatch` (true) or `append`.
        batch: bool,
        /// The events.
        events: Vec<Event>,
        /// The handshake response to prepend to the answer (empty once handshaken).
        handshake: Vec<u8>,
    },
    /// The client described another protocol: send these buffers and close.
    Refuse {
        /// The answer (handshake `NONE` with our protocol, and a system error).
        reply: Vec<Vec<u8>>,
        /// Why.
        error: AvroError,
    },
}

/// What the first part of a request (handshake, metadata, message name) asks for.
#[derive(Debug)]
pub enum Begun {
    /// Send these buffers; nothing to run.
    Reply(Vec<Vec<u8>>),
    /// The client described another protocol: send these buffers and close.
    Refuse {
        /// The answer.
        reply: Vec<Vec<u8>>,
        /// Why.
        error: AvroError,
    },
    /// `append` or `appendBatch`: decode the parameters ([`EventCall::decode`]), put the
    /// events, answer with [`ServerConn::status_reply`].
    Events(EventCall),
}

/// A call that carries events, its parameters not decoded yet.
#[derive(Debug)]
pub struct EventCall {
    /// `appendBatch` (true) or `append`.
    pub batch: bool,
    /// The handshake response to prepend to the answer (empty once handshaken).
    pub handshake: Vec<u8>,
    /// The call metadata (Sluice's sinks name themselves there).
    pub meta: Meta,
    /// Where the parameters start in the payload.
    pub params_at: usize,
    /// The limits they are read with.
    pub limits: CallLimits,
}

impl EventCall {
    /// The bytes the events are counted for (`call::params_cost`), without decoding them.
    pub fn cost(&self, payload: &[u8]) -> Result<u64, AvroError> {
        params_cost(
            &mut Reader::at(payload, self.params_at),
            self.batch,
            &self.limits,
        )
    }

    /// The events, unless they would be counted for more than `cost_max` bytes
    /// ([`AvroError::OverBudget`]); with what they are counted for. Their bodies are made as
    /// `bodies` says (slices of `payload`, or copies).
    pub fn decode(
        &self,
        payload: &[u8],
        bodies: Bodies<'_>,
        cost_max: u64,
    ) -> Result<(Vec<Event>, u64), AvroError> {
        read_params(
            &mut Reader::at(payload, self.params_at),
            self.batch,
            &self.limits,
            bodies,
            cost_max,
        )
    }
}

impl ServerConn {
    /// A new connection (no handshake yet).
    pub fn new(limits: CallLimits) -> Self {
        ServerConn {
            handshaken: false,
            limits,
        }
    }

    /// Whether a handshake succeeded on this connection.
    pub fn handshaken(&self) -> bool {
        self.handshaken
    }

    /// Decodes one request payload whole. `Err` means the bytes are garbage: close the
    /// connection.
    pub fn on_request(
        &mut self,
        payload: &[u8],
        known: &mut KnownClients,
    ) -> Result<Action, AvroError> {
        Ok(match self.begin(payload, &mut |req| answer(req, known))? {
            Begun::Reply(b) => Action::Reply(b),
            Begun::Refuse { reply, error } => Action::Refuse { reply, error },
            Begun::Events(call) => {
                let (events, _) = call.decode(payload, Bodies::Copy, u64::MAX)?;
                Action::Put {
                    batch: call.batch,
                    events,
                    handshake: call.handshake,
                }
            }
        })
    }

    /// Reads the handshake while the connection has none (answered by `answer`, which holds
    /// any lock on the known clients only for that), the metadata and the message name;
    /// the parameters of an event call are left for [`EventCall::decode`]. `Err` means the
    /// bytes are garbage: close the connection.
    pub fn begin(
        &mut self,
        payload: &[u8],
        answer: &mut dyn FnMut(&HandshakeRequest) -> Result<HandshakeResponse, AvroError>,
    ) -> Result<Begun, AvroError> {
        let mut r = Reader::new(payload);
        let mut handshake = Vec::new();
        if !self.handshaken {
            let req = HandshakeRequest::decode(&mut r)?;
            let resp = match answer(&req) {
                Ok(resp) => resp,
                Err(error) => {
                    let mut hs = Vec::new();
                    super::handshake::HandshakeResponse::with_protocol(HandshakeMatch::None)
                        .encode(&mut hs);
                    let reply = encode_error_response(hs, &error.to_string()).to_vec();
                    return Ok(Begun::Refuse { reply, error });
                }
            };
            resp.encode(&mut handshake);
            if resp.matched == HandshakeMatch::None {
                return Ok(Begun::Reply(vec![handshake]));
            }
            self.handshaken = true;
        }
        let (meta, name) = read_call_head(&mut r)?;
        Ok(match name.as_str() {
            "" => {
                r.finish("call parameters")?;
                Begun::Reply(vec![handshake])
            }
            "append" | "appendBatch" => Begun::Events(EventCall {
                batch: name == "appendBatch",
                handshake,
                meta,
                params_at: r.position(),
                limits: self.limits,
            }),
            _ => Begun::Reply(
                encode_error_response(
                    handshake,
                    &format!("org.apache.avro.AvroRuntimeException: No message named {name} in AvroSourceProtocol"),
                )
                .to_vec(),
            ),
        })
    }

    /// The answer to a `Put` once the channels decided.
    pub fn status_reply(handshake: Vec<u8>, status: Status) -> [Vec<u8>; 3] {
        encode_status_response(handshake, status)
    }
}
