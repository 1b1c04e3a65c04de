//! The event that flows through Sluice: a header map and an opaque body, as in Flume.
//!
//! An [`Event`] is a shared handle: cloning it costs one reference count, as a Java reference
//! does in Flume. A memory transaction keeps the events it handed to a sink this way (so a
//! rollback can put them back), and a replicating selector gives every channel the same
//! event. Writing through the handle (`event.headers.insert(..)`, `event.body = ..`) copies
//! the header map and body first if another handle shares them (copy on write), so no holder
//! ever sees another's change.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

pub use bytes::Bytes;

use crate::headers::Headers;

/// What an event carries: string headers (ordered, so encodings are deterministic) and a byte
/// body. Reached through [`Event`]'s `Deref`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventData {
    /// Header map. Flume stores a missing header value as the empty string.
    pub headers: Headers,
    /// Opaque payload: owned, or a slice of a larger buffer it shares (an RPC source's
    /// bodies borrow the frame they arrived in; see [`Event::detach_body`]).
    pub body: Bytes,
}

/// What an event's body is made from: owned bytes are taken over without a copy, borrowed
/// ones copied.
pub trait IntoBody {
    /// The body.
    fn into_body(self) -> Bytes;
}

impl IntoBody for Bytes {
    fn into_body(self) -> Bytes {
        self
    }
}

impl IntoBody for Vec<u8> {
    fn into_body(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoBody for String {
    fn into_body(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoBody for &[u8] {
    fn into_body(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl<const N: usize> IntoBody for &[u8; N] {
    fn into_body(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl IntoBody for &str {
    fn into_body(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl IntoBody for &Vec<u8> {
    fn into_body(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl IntoBody for &String {
    fn into_body(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

/// One event: a cheap-to-clone, copy-on-write handle to its [`EventData`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Event(Arc<EventData>);

impl Event {
    /// An event with no headers.
    pub fn new(body: impl IntoBody) -> Self {
        Self::with_headers(Headers::new(), body)
    }

    /// An event with the given headers.
    pub fn with_headers(headers: impl Into<Headers>, body: impl IntoBody) -> Self {
        Event(Arc::new(EventData {
            headers: headers.into(),
            body: body.into_body(),
        }))
    }

    /// Builder-style header insertion.
    pub fn header(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.headers.insert(key, value);
        self
    }

    /// The headers and the body, without a copy when no other handle shares them.
    pub fn into_parts(self) -> (Headers, Bytes) {
        let data = Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone());
        (data.headers, data.body)
    }

    /// Whether `self` and `other` are handles to the same data (not merely equal data).
    pub fn shares_with(&self, other: &Event) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Gives the body a buffer of its own if it shares one (a slice of a received frame), so
    /// that keeping this event does not keep the rest of that buffer alive. An owned body is
    /// left as it is.
    pub fn detach_body(&mut self) {
        if !self.body.is_unique() {
            let own = Bytes::copy_from_slice(&self.body);
            self.body = own;
        }
    }

    /// Bytes of payload the event carries: header keys and values plus the body.
    pub fn payload_bytes(&self) -> usize {
        self.body.len() + self.headers.text_bytes()
    }
}

impl Deref for Event {
    type Target = EventData;

    fn deref(&self) -> &EventData {
        &self.0
    }
}

impl DerefMut for Event {
    /// Copies the data first when another handle shares it.
    fn deref_mut(&mut self) -> &mut EventData {
        Arc::make_mut(&mut self.0)
    }
}

impl From<EventData> for Event {
    fn from(data: EventData) -> Self {
        Event(Arc::new(data))
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_until_one_side_writes() {
        let a = Event::new(b"body".to_vec()).header("k", "v");
        let mut b = a.clone();
        assert!(a.shares_with(&b));
        b.headers.insert("k", "changed");
        b.body.truncate(3);
        assert!(!a.shares_with(&b));
        assert_eq!(&a.headers["k"], "v");
        assert_eq!(a.body, &b"body"[..]);
        assert_eq!(&b.headers["k"], "changed");
        assert_eq!(b.body, &b"bod"[..]);
    }

    #[test]
    fn into_parts_copies_only_when_shared() {
        let a = Event::new(b"x".to_vec()).header("h", "1");
        let b = a.clone();
        let (headers, body) = a.into_parts();
        assert_eq!((headers.len(), &body[..]), (1, &b"x"[..]));
        let (headers, body) = b.into_parts();
        assert_eq!((&headers["h"], &body[..]), ("1", &b"x"[..]));
    }

    #[test]
    fn equality_and_debug_look_at_the_data() {
        let a = Event::new(b"same".to_vec());
        let b = Event::new(b"same".to_vec());
        assert!(!a.shares_with(&b));
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "Event { headers: {}, body: b\"same\" }");
    }
}
