//! The server side of one Avro RPC connection as a pure state machine: a frame's payload in,
//! what to do out. It reads the handshake while the connection has none, answers `NONE`
//! (call not run), pings and unknown messages itself, and hands `append`/`appendBatch` to the
//! caller, who answers with [`ServerConn::status_reply`] once the channels decided.

use super::binary::Reader;
use super::call::{
    encode_error_response, encode_status_response, read_call, CallBody, CallLimits, Status,
};
use super::error::AvroError;
use super::handshake::{answer, HandshakeMatch, HandshakeRequest, KnownClients};
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

    /// Decodes one request payload. `Err` means the bytes are garbage: close the connection.
    pub fn on_request(
        &mut self,
        payload: &[u8],
        known: &mut KnownClients,
    ) -> Result<Action, AvroError> {
        let mut r = Reader::new(payload);
        let mut handshake = Vec::new();
        if !self.handshaken {
            let req = HandshakeRequest::decode(&mut r)?;
            let resp = match answer(&req, known) {
                Ok(resp) => resp,
                Err(error) => {
                    let mut hs = Vec::new();
                    super::handshake::HandshakeResponse::with_protocol(HandshakeMatch::None)
                        .encode(&mut hs);
                    let reply = encode_error_response(hs, &error.to_string()).to_vec();
                    return Ok(Action::Refuse { reply, error });
                }
            };
            resp.encode(&mut handshake);
            if resp.matched == HandshakeMatch::None {
                return Ok(Action::Reply(vec![handshake]));
            }
            self.handshaken = true;
        }
        let call = read_call(&mut r, &self.limits)?;
        Ok(match call.body {
            CallBody::Ping => Action::Reply(vec![handshake]),
            CallBody::Append(e) => Action::Put {
                batch: false,
                events: vec![e],
                handshake,
            },
            CallBody::AppendBatch(events) => Action::Put {
                batch: true,
                events,
                handshake,
            },
            CallBody::Unknown(name) => Action::Reply(
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
