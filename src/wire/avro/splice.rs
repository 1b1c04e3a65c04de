//! A request's parameters for a vectored write ([`Spliced`]): the encoding of
//! [`super::call::put_events`] without the large bodies, and where each goes, so that the
//! socket takes every body from its event (the kernel's one copy) instead of after a copy
//! into the request buffer. The bytes on the wire are the same; a test compares them.

use std::io::IoSlice;

use super::binary::put_long;
use super::call::{put_event, put_event_head, Message};
use sluice_core::{Bytes, Event};

/// Bodies from this size on are spliced rather than copied (below it, another entry for the
/// kernel to walk costs more than the copy).
pub const SPLICE_BODY_MIN: usize = 512;

/// A request's parameters: encoded bytes with bodies spliced in between.
#[derive(Debug, Default)]
pub struct Spliced {
    bytes: Vec<u8>,
    /// Each spliced body and how many bytes of `bytes` precede it.
    bodies: Vec<(usize, Bytes)>,
    body_bytes: usize,
}

impl Spliced {
    /// Encodes the parameters of `message` with `events` (cleared first). Bodies of at least
    /// `splice_min` bytes are spliced (`usize::MAX`: none is).
    pub fn encode(&mut self, message: Message, events: &[Event], splice_min: usize) {
        self.clear();
        let inline: usize = events
            .iter()
            .map(|e| {
                let body = if e.body.len() >= splice_min {
                    0
                } else {
                    e.body.len()
                };
                e.payload_bytes().saturating_sub(e.body.len()) + body + 16
            })
            .sum();
        self.bytes.reserve(inline + 4);
        match message {
            Message::Append => match events.first() {
                Some(e) => self.put(e, splice_min),
                None => put_event(&mut self.bytes, &Event::default()),
            },
            Message::AppendBatch => {
                if !events.is_empty() {
                    put_long(&mut self.bytes, events.len() as i64);
                    for e in events {
                        self.put(e, splice_min);
                    }
                }
                put_long(&mut self.bytes, 0);
            }
        }
    }

    fn put(&mut self, e: &Event, splice_min: usize) {
        if e.body.len() < splice_min {
            put_event(&mut self.bytes, e);
            return;
        }
        put_event_head(&mut self.bytes, e);
        self.body_bytes += e.body.len();
        self.bodies.push((self.bytes.len(), e.body.clone()));
    }

    /// Drops the encoding and the references to the bodies (the buffer's memory is kept).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.bodies.clear();
        self.body_bytes = 0;
    }

    /// The parameters' length on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len() + self.body_bytes
    }

    /// Whether nothing is encoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of encoding buffer held (its capacity).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// The parameters as slices in wire order, appended to `out` (empty ones left out).
    pub fn slices<'a>(&'a self, out: &mut Vec<IoSlice<'a>>) {
        out.reserve(2 * self.bodies.len() + 1);
        let mut from = 0;
        for (at, body) in &self.bodies {
            if let Some(b) = self.bytes.get(from..*at).filter(|b| !b.is_empty()) {
                out.push(IoSlice::new(b));
            }
            if !body.is_empty() {
                out.push(IoSlice::new(body));
            }
            from = *at;
        }
        if let Some(b) = self.bytes.get(from..).filter(|b| !b.is_empty()) {
            out.push(IoSlice::new(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::avro::call::{encode_request, Message};

    fn events() -> Vec<Event> {
        let mut h = sluice_core::Headers::new();
        h.insert("host", "a");
        vec![
            Event::with_headers(h.clone(), vec![7u8; 600]),
            Event::new(&b"short"[..]),
            Event::with_headers(h, vec![9u8; 2000]),
            Event::new(Vec::new()),
            Event::new(vec![1u8; 512]),
        ]
    }

    fn joined(s: &Spliced) -> Vec<u8> {
        let mut slices = Vec::new();
        s.slices(&mut slices);
        slices.iter().flat_map(|b| b.iter().copied()).collect()
    }

    #[test]
    fn spliced_parameters_are_the_bytes_of_the_copied_encoding() {
        let events = events();
        for message in [Message::AppendBatch, Message::Append] {
            let [_, want] = encode_request(None, message, &events);
            for min in [0, 1, SPLICE_BODY_MIN, 1000, usize::MAX] {
                let mut s = Spliced::default();
                s.encode(message, &events, min);
                assert_eq!(joined(&s), want, "{message:?}, splice_min {min}");
                assert_eq!(s.len(), want.len(), "{message:?}, splice_min {min}");
            }
        }
        let mut s = Spliced::default();
        s.encode(Message::AppendBatch, &[], SPLICE_BODY_MIN);
        assert_eq!(
            joined(&s),
            encode_request(None, Message::AppendBatch, &[])[1]
        );
    }

    #[test]
    fn large_bodies_are_not_copied_and_clear_lets_them_go() {
        let events = events();
        let mut s = Spliced::default();
        s.encode(Message::AppendBatch, &events, SPLICE_BODY_MIN);
        let mut slices = Vec::new();
        s.slices(&mut slices);
        // The three bodies of 512 bytes or more are the events' own memory.
        for i in [0, 2, 4] {
            let body = events[i].body.as_ptr();
            assert!(slices.iter().any(|b| b.as_ptr() == body), "body {i} copied");
        }
        assert!(s.capacity() < 600, "bodies went into the buffer");
        drop(slices);
        s.clear();
        assert!(s.is_empty());
        assert!(s.bodies.is_empty());
    }
}
