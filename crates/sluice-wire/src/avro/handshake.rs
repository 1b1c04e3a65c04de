//! The Avro IPC handshake (`org.apache.avro.ipc.HandshakeRequest` / `HandshakeResponse`),
//! prepended to the first call of a connection and to every call until one succeeds.
//!
//! Server rule (Avro's `Responder.handshake`): the client's protocol is known when its hash
//! is ours or one already accepted, or when it sends a protocol text that is structurally
//! Flume's. Known and `serverHash` ours → `BOTH`; known and `serverHash` not ours → `CLIENT`
//! plus our protocol and hash; unknown and no text → `NONE` plus our protocol and hash, and
//! the call is not executed (the client resends with its text). A text that describes another
//! protocol is refused.

use super::binary::{put_bytes, put_long, Reader};
use super::error::AvroError;
use super::protocol::{check_compatible, PROTOCOL_JSON, PROTOCOL_MD5};

/// An MD5 hash of a protocol text.
pub type Md5 = [u8; 16];

/// Most entries in a handshake's metadata map.
pub const HANDSHAKE_META_MAX: usize = 64;

/// Longest protocol text a handshake may carry (Flume's is 1,289 bytes), checked from its
/// length before the text is copied or parsed.
pub const PROTOCOL_TEXT_BYTES_MAX: usize = 64 << 10;

/// A metadata map (`map<bytes>`), in wire order.
pub type Meta = Vec<(String, Vec<u8>)>;

/// The handshake metadata key by which a Sluice client asks, and a Sluice server answers,
/// that the peer takes event ids (`sluiceId`, docs/exactly-once.md). Avro's `Responder`
/// hands a request's metadata only to RPC plugins (Flume registers none) and answers with
/// `meta = null`, so a client learns it talks to Sluice only from a server that echoes it.
pub const EVENT_IDS_META: &str = "sluice.eventIds";
/// The value sent with [`EVENT_IDS_META`] (the first version of ids across a hop).
pub const EVENT_IDS_META_VALUE: &[u8] = b"1";

/// Whether `meta` carries [`EVENT_IDS_META`].
pub fn meta_takes_ids(meta: Option<&Meta>) -> bool {
    meta.is_some_and(|m| m.iter().any(|(k, _)| k == EVENT_IDS_META))
}

/// A metadata map holding [`EVENT_IDS_META`] only.
fn ids_meta() -> Meta {
    vec![(EVENT_IDS_META.to_owned(), EVENT_IDS_META_VALUE.to_vec())]
}

/// `HandshakeRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// MD5 of the client's protocol text.
    pub client_hash: Md5,
    /// The client's protocol text, sent after a `NONE`.
    pub client_protocol: Option<String>,
    /// The client's guess of the server's hash.
    pub server_hash: Md5,
    /// Metadata (Flume's client sends an empty map).
    pub meta: Option<Meta>,
}

/// `HandshakeMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeMatch {
    /// Both sides know each other's protocol.
    Both = 0,
    /// The server knows the client's protocol; the client learns the server's.
    Client = 1,
    /// The server does not know the client's protocol: resend with it.
    None = 2,
}

/// `HandshakeResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// The match.
    pub matched: HandshakeMatch,
    /// The server's protocol text (unless `BOTH`).
    pub server_protocol: Option<String>,
    /// The server's hash (unless `BOTH`).
    pub server_hash: Option<Md5>,
    /// Metadata.
    pub meta: Option<Meta>,
}

impl HandshakeRequest {
    /// What Flume's client sends first: our hash for both, no text, an empty meta map.
    pub fn flume() -> Self {
        HandshakeRequest {
            client_hash: PROTOCOL_MD5,
            client_protocol: None,
            server_hash: PROTOCOL_MD5,
            meta: Some(Vec::new()),
        }
    }

    /// The resend after a `NONE`: the same with our protocol text.
    pub fn flume_with_text(server_hash: Md5) -> Self {
        HandshakeRequest {
            client_protocol: Some(PROTOCOL_JSON.to_owned()),
            server_hash,
            ..HandshakeRequest::flume()
        }
    }

    /// This request asking whether the server takes event ids ([`EVENT_IDS_META`]).
    pub fn asking_for_ids(mut self) -> Self {
        self.meta = Some(ids_meta());
        self
    }

    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.client_hash);
        put_opt_string(out, self.client_protocol.as_deref());
        out.extend_from_slice(&self.server_hash);
        put_opt_meta(out, self.meta.as_ref());
    }

    /// Reads one from `r`.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, AvroError> {
        let client_hash = md5(r, "handshake clientHash")?;
        let client_protocol = match r.index("handshake clientProtocol", 2)? {
            0 => None,
            _ => Some(r.string_max("handshake clientProtocol", PROTOCOL_TEXT_BYTES_MAX)?),
        };
        let server_hash = md5(r, "handshake serverHash")?;
        let meta = opt_meta(r, "handshake meta")?;
        Ok(HandshakeRequest {
            client_hash,
            client_protocol,
            server_hash,
            meta,
        })
    }
}

impl HandshakeResponse {
    /// `BOTH` with nulls: what Flume answers a client that sent its hash.
    pub fn both() -> Self {
        HandshakeResponse {
            matched: HandshakeMatch::Both,
            server_protocol: None,
            server_hash: None,
            meta: None,
        }
    }

    /// `CLIENT` or `NONE`, with our protocol and hash.
    pub fn with_protocol(matched: HandshakeMatch) -> Self {
        HandshakeResponse {
            matched,
            server_protocol: Some(PROTOCOL_JSON.to_owned()),
            server_hash: Some(PROTOCOL_MD5),
            meta: None,
        }
    }

    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_long(out, self.matched as i64);
        put_opt_string(out, self.server_protocol.as_deref());
        match &self.server_hash {
            None => put_long(out, 0),
            Some(h) => {
                put_long(out, 1);
                out.extend_from_slice(h);
            }
        }
        put_opt_meta(out, self.meta.as_ref());
    }

    /// Reads one from `r`.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, AvroError> {
        let matched = match r.index("handshake match", 3)? {
            0 => HandshakeMatch::Both,
            1 => HandshakeMatch::Client,
            _ => HandshakeMatch::None,
        };
        let server_protocol = opt_string(r, "handshake serverProtocol")?;
        let server_hash = match r.index("handshake serverHash union", 2)? {
            0 => None,
            _ => Some(md5(r, "handshake serverHash")?),
        };
        let meta = opt_meta(r, "handshake meta")?;
        Ok(HandshakeResponse {
            matched,
            server_protocol,
            server_hash,
            meta,
        })
    }
}

/// Client hashes a server has accepted, so later connections from the same kind of client
/// get `BOTH`/`CLIENT` at once (Avro keeps the same cache). Bounded.
#[derive(Debug, Default, Clone)]
pub struct KnownClients {
    hashes: Vec<Md5>,
}

/// Most remembered foreign client hashes.
pub const KNOWN_CLIENTS_MAX: usize = 32;

impl KnownClients {
    /// Whether the hash is ours or was accepted before.
    pub fn knows(&self, hash: &Md5) -> bool {
        *hash == PROTOCOL_MD5 || self.hashes.contains(hash)
    }

    /// Remembers an accepted hash (the oldest is forgotten past the limit).
    pub fn remember(&mut self, hash: Md5) {
        if self.knows(&hash) {
            return;
        }
        if self.hashes.len() >= KNOWN_CLIENTS_MAX {
            self.hashes.remove(0);
        }
        self.hashes.push(hash);
    }
}

/// The server's answer to a handshake: the response, and whether the call may run.
/// `Err` when the client described another protocol.
pub fn answer(
    req: &HandshakeRequest,
    known: &mut KnownClients,
) -> Result<HandshakeResponse, AvroError> {
    let (resp, learned) = answer_with(req, known.knows(&req.client_hash))?;
    if learned {
        known.remember(req.client_hash);
    }
    Ok(resp)
}

/// A client whose request asked for event ids ([`EVENT_IDS_META`]) is told so in the
/// response's metadata once the call may run (`BOTH` or `CLIENT`).
///
/// [`answer`] for a caller that keeps the known hashes itself (behind a lock it holds only
/// to look the hash up and to remember it): `known` says whether the client's hash is known;
/// the `bool` returned says whether to remember it (its text was found compatible). The
/// protocol text is compared here, outside any lock.
pub fn answer_with(
    req: &HandshakeRequest,
    known: bool,
) -> Result<(HandshakeResponse, bool), AvroError> {
    let mut remote = known;
    let mut learned = false;
    if !remote {
        if let Some(text) = &req.client_protocol {
            check_compatible(text).map_err(|reason| AvroError::IncompatibleProtocol { reason })?;
            learned = true;
            remote = true;
        }
    }
    let mut resp = match (remote, req.server_hash == PROTOCOL_MD5) {
        (true, true) => HandshakeResponse::both(),
        (true, false) => HandshakeResponse::with_protocol(HandshakeMatch::Client),
        (false, _) => HandshakeResponse::with_protocol(HandshakeMatch::None),
    };
    // Only a client that asked hears it: Flume's clients get Flume's bytes.
    if remote && meta_takes_ids(req.meta.as_ref()) {
        resp.meta = Some(ids_meta());
    }
    Ok((resp, learned))
}

fn md5(r: &mut Reader<'_>, what: &'static str) -> Result<Md5, AvroError> {
    let b = r.fixed(what, 16)?;
    let mut h = [0u8; 16];
    h.copy_from_slice(b);
    Ok(h)
}

fn opt_string(r: &mut Reader<'_>, what: &'static str) -> Result<Option<String>, AvroError> {
    Ok(match r.index(what, 2)? {
        0 => None,
        _ => Some(r.string(what)?),
    })
}

fn opt_meta(r: &mut Reader<'_>, what: &'static str) -> Result<Option<Meta>, AvroError> {
    Ok(match r.index(what, 2)? {
        0 => None,
        _ => Some(read_meta(r, what)?),
    })
}

/// Reads a `map<bytes>` (at most [`HANDSHAKE_META_MAX`] entries).
pub fn read_meta(r: &mut Reader<'_>, what: &'static str) -> Result<Meta, AvroError> {
    let mut meta = Vec::new();
    loop {
        let n = r.block(what, HANDSHAKE_META_MAX - meta.len(), 2)?;
        if n == 0 {
            return Ok(meta);
        }
        for _ in 0..n {
            let k = r.string(what)?;
            let v = r.bytes(what)?.to_vec();
            meta.push((k, v));
        }
    }
}

/// Appends a `map<bytes>`.
pub fn put_meta(out: &mut Vec<u8>, meta: &Meta) {
    if !meta.is_empty() {
        put_long(out, meta.len() as i64);
        for (k, v) in meta {
            put_bytes(out, k.as_bytes());
            put_bytes(out, v);
        }
    }
    put_long(out, 0);
}

fn put_opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_long(out, 0),
        Some(s) => {
            put_long(out, 1);
            put_bytes(out, s.as_bytes());
        }
    }
}

fn put_opt_meta(out: &mut Vec<u8>, meta: Option<&Meta>) {
    match meta {
        None => put_long(out, 0),
        Some(m) => {
            put_long(out, 1);
            put_meta(out, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_hash_without_text_gets_none_and_with_text_gets_both() {
        let mut known = KnownClients::default();
        let mut req = HandshakeRequest::flume();
        req.client_hash = [7; 16];
        req.meta = None;
        let r = answer(&req, &mut known).unwrap();
        assert_eq!(r.matched, HandshakeMatch::None);
        assert_eq!(r.server_hash, Some(PROTOCOL_MD5));
        req.client_protocol = Some(PROTOCOL_JSON.replace(",\"doc\"", ",\"x\""));
        assert!(
            answer(&req, &mut known).is_err(),
            "an extra key is another protocol"
        );
        req.client_protocol = Some(PROTOCOL_JSON.to_owned());
        assert_eq!(answer(&req, &mut known).unwrap(), HandshakeResponse::both());
        req.client_protocol = None;
        assert_eq!(
            answer(&req, &mut known).unwrap(),
            HandshakeResponse::both(),
            "the accepted hash is remembered"
        );
    }

    #[test]
    fn a_known_client_with_a_wrong_server_hash_gets_client_and_our_protocol() {
        let mut req = HandshakeRequest::flume();
        req.server_hash = [1; 16];
        let r = answer(&req, &mut KnownClients::default()).unwrap();
        assert_eq!(r, HandshakeResponse::with_protocol(HandshakeMatch::Client));
    }

    #[test]
    fn a_protocol_text_over_the_limit_is_refused_from_its_length() {
        let mut req = HandshakeRequest::flume();
        req.client_protocol = Some("x".repeat(PROTOCOL_TEXT_BYTES_MAX + 1));
        let mut b = Vec::new();
        req.encode(&mut b);
        // Cut the text off: the length alone must be enough to refuse it.
        b.truncate(32);
        let e = HandshakeRequest::decode(&mut Reader::new(&b)).unwrap_err();
        assert!(
            matches!(
                e,
                AvroError::TooLong {
                    what: "handshake clientProtocol",
                    ..
                }
            ),
            "{e}"
        );
        req.client_protocol = Some("x".repeat(PROTOCOL_TEXT_BYTES_MAX));
        let mut b = Vec::new();
        req.encode(&mut b);
        assert!(HandshakeRequest::decode(&mut Reader::new(&b)).is_ok());
    }

    #[test]
    fn only_a_client_that_asks_for_event_ids_hears_that_the_server_takes_them() {
        let mut known = KnownClients::default();
        let flume = answer(&HandshakeRequest::flume(), &mut known).unwrap();
        assert_eq!(
            flume,
            HandshakeResponse::both(),
            "Flume's client: Flume's answer"
        );
        let mut b = Vec::new();
        flume.encode(&mut b);
        assert_eq!(b, [0, 0, 0, 0], "the bytes of Flume's own answer");
        let sluice = answer(&HandshakeRequest::flume().asking_for_ids(), &mut known).unwrap();
        assert!(meta_takes_ids(sluice.meta.as_ref()));
        assert_eq!(sluice.matched, HandshakeMatch::Both);
        let mut unknown = HandshakeRequest::flume().asking_for_ids();
        unknown.client_hash = [9; 16];
        let none = answer(&unknown, &mut known).unwrap();
        assert_eq!(none.matched, HandshakeMatch::None);
        assert!(
            !meta_takes_ids(none.meta.as_ref()),
            "not before the call may run"
        );
    }

    #[test]
    fn requests_and_responses_round_trip() {
        for req in [
            HandshakeRequest::flume(),
            HandshakeRequest::flume_with_text([3; 16]),
            HandshakeRequest::flume().asking_for_ids(),
        ] {
            let mut b = Vec::new();
            req.encode(&mut b);
            let mut r = Reader::new(&b);
            assert_eq!(HandshakeRequest::decode(&mut r).unwrap(), req);
            r.finish("x").unwrap();
        }
        let mut resp = HandshakeResponse::with_protocol(HandshakeMatch::None);
        resp.meta = Some(vec![("k".into(), vec![1, 2])]);
        let mut b = Vec::new();
        resp.encode(&mut b);
        let mut r = Reader::new(&b);
        assert_eq!(HandshakeResponse::decode(&mut r).unwrap(), resp);
    }
}
