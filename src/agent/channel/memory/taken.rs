//! The events a memory transaction has taken, kept so that a rollback can put them back.
//!
//! The sink gets the taken events themselves; the transaction keeps them encoded (Avro's
//! `AvroFlumeEvent` array, [`crate::wire::avro::call`]) in one buffer instead of a deep copy
//! of each. A copy cost one allocation for the body, one for the header map and one per header
//! key and value, and as many frees at the commit; the encoding costs one copy of the bytes
//! into a buffer that grows once per take. Rollbacks decode it; commits only clear it.

use crate::wire::avro::binary::Reader;
use crate::wire::avro::call::{put_events, read_events, CallLimits};
use crate::wire::avro::AvroError;
use sluice_core::Event;

/// Decoding limits for what [`Taken::record`] wrote itself: none.
const UNLIMITED: CallLimits = CallLimits {
    events_max: usize::MAX,
    headers_max: usize::MAX,
};

/// Bytes an event's encoding takes beyond its payload (its lengths and counts) for a few
/// headers; only a capacity hint.
const OVERHEAD_HINT: usize = 16;

/// Taken events of one transaction, in take order.
#[derive(Debug, Default)]
pub(super) struct Taken {
    count: usize,
    body_bytes: u64,
    log: Vec<u8>,
}

impl Taken {
    /// How many events were taken.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was taken.
    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Body bytes of the taken events (the channel's byte count still holds them).
    pub(super) fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Keeps a copy of `events`, taken after those recorded before.
    pub(super) fn record(&mut self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let (mut body, mut payload) = (0, 0);
        for e in events {
            body += e.body.len();
            payload += e.payload_bytes();
        }
        self.log.reserve(payload + events.len() * OVERHEAD_HINT);
        put_events(&mut self.log, events);
        self.count += events.len();
        self.body_bytes += body as u64;
    }

    /// Forgets the taken events (the take is final).
    pub(super) fn clear(&mut self) {
        self.count = 0;
        self.body_bytes = 0;
        self.log.clear();
    }

    /// The taken events, in take order; empties the record.
    pub(super) fn restore(&mut self) -> Result<Vec<Event>, AvroError> {
        let mut events = Vec::with_capacity(self.count);
        let mut r = Reader::new(&self.log);
        while r.remaining() > 0 {
            events.extend(read_events(&mut r, &UNLIMITED)?);
        }
        self.clear();
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_recorded_in_several_batches_come_back_whole_and_in_order() {
        let mut t = Taken::default();
        let a = vec![
            Event::new(b"a\0\xff".to_vec())
                .header("k", "v")
                .header("", ""),
            Event::new(Vec::new()),
        ];
        let b = vec![Event::new("b".repeat(5000)).header("ключ", "значение")];
        t.record(&a);
        t.record(&[]);
        t.record(&b);
        assert_eq!((t.len(), t.body_bytes()), (3, 5003));
        let back = t.restore().unwrap();
        assert_eq!(back, [a, b].concat());
        assert!(t.is_empty());
        assert_eq!(t.body_bytes(), 0);
        assert!(t.restore().unwrap().is_empty());
    }

    #[test]
    fn a_final_take_leaves_nothing_to_restore() {
        let mut t = Taken::default();
        t.record(&[Event::new("x")]);
        t.clear();
        assert!(t.is_empty());
        assert!(t.restore().unwrap().is_empty());
    }
}
