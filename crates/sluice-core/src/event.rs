//! The event that flows through Sluice: a header map and an opaque body, as in Flume.

use std::collections::BTreeMap;

/// One event: string headers (ordered, so encodings are deterministic) and a byte body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Header map. Flume stores a missing header value as the empty string.
    pub headers: BTreeMap<String, String>,
    /// Opaque payload.
    pub body: Vec<u8>,
}

impl Event {
    /// An event with no headers.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Event {
            headers: BTreeMap::new(),
            body: body.into(),
        }
    }

    /// An event with the given headers.
    pub fn with_headers(headers: BTreeMap<String, String>, body: impl Into<Vec<u8>>) -> Self {
        Event {
            headers,
            body: body.into(),
        }
    }

    /// Builder-style header insertion.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(key.into(), value.into());
        self
    }

    /// Bytes of payload the event carries: header keys and values plus the body.
    pub fn payload_bytes(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}
