//! The client side of one Avro RPC connection as a pure state machine: it builds requests
//! (with Flume's handshake until one succeeded, with our protocol text after a `NONE`) and
//! reads responses. The async client (`agent::rpc::avro_client`) only moves its bytes.
//!
//! Event ids ([`IdsPolicy`]): by default a call carries the events' ids (`sluiceId`) only
//! when the server answered the handshake with [`EVENT_IDS_META`], which only a Sluice avro
//! source does; a Flume server answers `meta = null` and gets exactly the events' own headers.

use super::call::{
    decode_response, encode_params_spliced, encode_ping, encode_request_head, Message, Outcome,
};
use super::error::AvroError;
#[cfg(doc)]
use super::handshake::EVENT_IDS_META;
use super::handshake::{meta_takes_ids, HandshakeMatch, HandshakeRequest, Md5, Meta};
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
    ids: IdsPolicy,
    peer_takes_ids: bool,
}

/// When calls carry the events' ids (a sink's `eventIds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdsPolicy {
    /// Only to a server that said in the handshake it takes them (Sluice's avro source).
    #[default]
    IfPeerTakes,
    /// Always (`eventIds = true`: e.g. a Sluice collector behind a proxy that answers the
    /// handshake itself).
    Always,
    /// Never (`eventIds = false`).
    Never,
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
            ids: IdsPolicy::default(),
            peer_takes_ids: false,
        }
    }

    /// Sets when calls carry the events' ids (before the handshake: it asks only unless
    /// [`IdsPolicy::Never`]).
    pub fn set_ids_policy(&mut self, ids: IdsPolicy) {
        self.ids = ids;
    }

    /// Whether the server said in the handshake that it takes event ids.
    pub fn peer_takes_ids(&self) -> bool {
        self.peer_takes_ids
    }

    /// Whether calls carry the events' ids.
    pub fn sends_ids(&self) -> bool {
        match self.ids {
            IdsPolicy::IfPeerTakes => self.peer_takes_ids,
            IdsPolicy::Always => true,
            IdsPolicy::Never => false,
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
        let req = if self.send_text {
            HandshakeRequest::flume_with_text(self.server_hash)
        } else {
            HandshakeRequest::flume()
        };
        Some(match self.ids {
            IdsPolicy::Never => req,
            IdsPolicy::IfPeerTakes | IdsPolicy::Always => req.asking_for_ids(),
        })
    }

    /// The buffers of a call. Send one call at a time until [`ClientConn::handshaken`].
    pub fn request(&mut self, message: Message, events: &[Event]) -> [Vec<u8>; 2] {
        let hs = self.handshake();
        let mut head = Vec::new();
        encode_request_head(hs.as_ref(), &self.call_meta, message, &mut head);
        let mut params = Spliced::default();
        encode_params_spliced(&mut params, message, events, (usize::MAX, self.sends_ids()));
        [head, params.to_vec()]
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
        encode_params_spliced(params, message, events, (splice_min, self.sends_ids()));
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
                    self.peer_takes_ids = meta_takes_ids(hs.meta.as_ref());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::binary::Reader;
    use crate::avro::call::{read_call, CallBody, CallLimits};
    use crate::avro::handshake::{answer, HandshakeResponse, KnownClients};
    use sluice_core::dedup::EVENT_ID_HEADER;

    /// One handshaken call through `server` (which answers the handshake), and the events
    /// the server decoded from it.
    fn call_through(
        policy: IdsPolicy,
        server: impl Fn(&HandshakeRequest) -> HandshakeResponse,
    ) -> (Vec<Event>, bool) {
        let mut c = ClientConn::new();
        c.set_ids_policy(policy);
        let ping = c.ping();
        let req = HandshakeRequest::decode(&mut Reader::new(&ping)).unwrap();
        let mut answer_bytes = Vec::new();
        server(&req).encode(&mut answer_bytes);
        assert_eq!(c.on_response(&answer_bytes).unwrap(), Reply::Pong);
        let e = Event::new("b")
            .header("datacenter", "NYC_01")
            .header(EVENT_ID_HEADER, "0000000000000007:3");
        let [head, params] = c.request(Message::AppendBatch, &[e]);
        let call = [head, params].concat();
        let got = read_call(&mut Reader::new(&call), &CallLimits::default()).unwrap();
        match got.body {
            CallBody::AppendBatch(events) => (events, c.sends_ids()),
            other => panic!("{other:?}"),
        }
    }

    fn has_id(events: &[Event]) -> bool {
        events
            .iter()
            .any(|e| e.headers.contains_key(EVENT_ID_HEADER))
    }

    #[test]
    fn a_flume_server_gets_no_event_id_and_a_sluice_server_gets_it() {
        // Flume's `Responder` answers `BOTH` with `meta = null` whatever the request's meta.
        let (events, sends) = call_through(IdsPolicy::IfPeerTakes, |_| HandshakeResponse::both());
        assert!(!sends && !has_id(&events), "{events:?}");
        assert_eq!(events[0].headers.get("datacenter"), Some("NYC_01"));
        let sluice = |r: &HandshakeRequest| answer(r, &mut KnownClients::default()).unwrap();
        let (events, sends) = call_through(IdsPolicy::IfPeerTakes, sluice);
        assert!(sends && has_id(&events), "{events:?}");
    }

    #[test]
    fn event_ids_false_sends_none_even_to_sluice_and_true_sends_them_to_flume() {
        let sluice = |r: &HandshakeRequest| answer(r, &mut KnownClients::default()).unwrap();
        let (events, _) = call_through(IdsPolicy::Never, sluice);
        assert!(!has_id(&events), "{events:?}");
        let (events, _) = call_through(IdsPolicy::Always, |_| HandshakeResponse::both());
        assert!(has_id(&events), "{events:?}");
    }
}
