//! The client side of one Avro RPC connection as a pure state machine: it builds requests
//! (with Flume's handshake until one succeeded, with our protocol text after a `NONE`) and
//! reads responses. The async client (`agent::rpc::avro_client`) only moves its bytes.

use super::call::{
    decode_response, encode_params_spliced, encode_ping, encode_request_head, encode_request_meta,
    Message, Outcome,
};
use super::error::AvroError;
use super::handshake::{HandshakeMatch, HandshakeRequest, Md5, Meta};
use super::protocol::PROTOCOL_MD5;
use crate::splice::Spliced;
use sluice_core::Event;

/// The state of one client connection.
#[derive(Debug, Clone)]
pub struct ClientConn {
    handshaken: bool,
    send_text: bool,
    server_hash: Md5,
    handshake_in_flight: bool,
    call_meta: Meta,
}

impl Default for ClientConn {
    fn default() -> Self {
        ClientConn::new()
    }
}

/// What a response means for the call that got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The call ran: its outcome.
    Done(Outcome),
    /// The server did not know our protocol (`NONE`); the call did not run: send it again.
    Resend,
    /// The answer to a ping.
    Pong,
}

impl ClientConn {
    /// A new connection.
    pub fn new() -> Self {
        ClientConn {
            handshaken: false,
            send_text: false,
            server_hash: PROTOCOL_MD5,
            handshake_in_flight: false,
            call_meta: Meta::new(),
        }
    }

    /// Sets the metadata sent with every later call (empty by default, as Flume's client).
    pub fn set_call_meta(&mut self, meta: Meta) {
        self.call_meta = meta;
    }

    /// Whether a handshake succeeded.
    pub fn handshaken(&self) -> bool {
        self.handshaken
    }

    fn handshake(&mut self) -> Option<HandshakeRequest> {
        if self.handshaken {
            self.handshake_in_flight = false;
            return None;
        }
        self.handshake_in_flight = true;
        Some(if self.send_text {
            HandshakeRequest::flume_with_text(self.server_hash)
        } else {
            HandshakeRequest::flume()
        })
    }

    /// The buffers of a call. Send one call at a time until [`ClientConn::handshaken`].
    pub fn request(&mut self, message: Message, events: &[Event]) -> [Vec<u8>; 2] {
        let hs = self.handshake();
        encode_request_meta(hs.as_ref(), &self.call_meta, message, events)
    }

    /// [`ClientConn::request`] into `head` and `params` (cleared first; their memory is
    /// reused), bodies of `splice_min` bytes or more spliced into `params`
    /// ([`super::call::encode_params_spliced`]).
    pub fn request_spliced(
        &mut self,
        message: Message,
        events: &[Event],
        (head, params): (&mut Vec<u8>, &mut Spliced),
        splice_min: usize,
    ) {
        let hs = self.handshake();
        encode_request_head(hs.as_ref(), &self.call_meta, message, head);
        encode_params_spliced(params, message, events, splice_min);
    }

    /// The buffer of a handshake-only ping.
    pub fn ping(&mut self) -> Vec<u8> {
        let hs = self.handshake();
        encode_ping(hs.as_ref())
    }

    /// Reads the response to the last request.
    pub fn on_response(&mut self, payload: &[u8]) -> Result<Reply, AvroError> {
        let resp = decode_response(payload, self.handshake_in_flight)?;
        if let Some(hs) = &resp.handshake {
            if let Some(h) = hs.server_hash {
                self.server_hash = h;
            }
            match hs.matched {
                HandshakeMatch::None => {
                    if self.send_text {
                        return Err(AvroError::UnexpectedResponse {
                            reason: "server answered NONE to our protocol text".into(),
                        });
                    }
                    self.send_text = true;
                    return Ok(Reply::Resend);
                }
                HandshakeMatch::Both | HandshakeMatch::Client => {
                    self.handshaken = true;
                    self.handshake_in_flight = false;
                }
            }
        }
        Ok(match resp.outcome {
            Some(o) => Reply::Done(o),
            None => Reply::Pong,
        })
    }
}
