//! The events a memory transaction has taken, kept so that a rollback can put them back.
//!
//! The sink gets the taken events; the transaction keeps a second handle to each. An
//! [`Event`] is a shared, copy-on-write handle, so keeping one costs a reference count, not a
//! copy, and a sink that rewrites an event it was handed changes only its own copy.

use sluice_core::Event;

/// Taken events of one transaction, in take order.
#[derive(Debug, Default)]
pub(super) struct Taken {
    events: Vec<Event>,
}

impl Taken {
    /// How many events were taken.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing was taken.
    pub(super) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Body bytes of the taken events (the channel's byte count still holds them).
    pub(super) fn body_bytes(&self) -> u64 {
        super::body_bytes(&self.events)
    }

    /// Keeps a handle to each of `events`, taken after those recorded before.
    pub(super) fn record(&mut self, events: &[Event]) {
        self.events.extend_from_slice(events);
    }

    /// Forgets the taken events (the take is final).
    pub(super) fn clear(&mut self) {
        self.events.clear();
    }

    /// The taken events, in take order; empties the record.
    pub(super) fn restore(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
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
        let back = t.restore();
        assert_eq!(back, [a, b].concat());
        assert!(t.is_empty());
        assert_eq!(t.body_bytes(), 0);
        assert!(t.restore().is_empty());
    }

    #[test]
    fn a_sink_rewriting_what_it_took_leaves_the_kept_copy_as_taken() {
        let mut t = Taken::default();
        let mut handed = vec![Event::new(b"original".to_vec()).header("k", "v")];
        t.record(&handed);
        handed[0].body.clear();
        handed[0].headers.insert("k", "rewritten");
        let back = t.restore();
        assert_eq!(back[0].body, &b"original"[..]);
        assert_eq!(&back[0].headers["k"], "v");
    }

    #[test]
    fn a_final_take_leaves_nothing_to_restore() {
        let mut t = Taken::default();
        t.record(&[Event::new("x")]);
        t.clear();
        assert!(t.is_empty());
        assert!(t.restore().is_empty());
    }
}
