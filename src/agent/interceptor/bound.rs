//! The bound on what an interceptor chain may make of a batch: an interceptor that amplifies
//! (a Java one returning many events per event, a `search_replace` whose replacement is much
//! longer than what it matches, or matches the empty string) would otherwise turn a small
//! batch into any amount of memory, and its source's channel and sinks into work the
//! sources beside it wait behind. After each step the batch is weighed (every event's body and
//! header text plus [`EVENT_OVERHEAD_BYTES`]); past [`GROWTH_FACTOR`] times the weight it came
//! in with plus [`GROWTH_SLACK_BYTES`] the batch is refused ([`Grew`], naming the interceptor
//! and both weights), as a batch that can never fit: nothing of it is put, the source's own
//! refusal path takes it (its client is answered an error, an RPC call `FAILED`), and the
//! other sources are not charged for it. Splitting an event into its lines, adding headers,
//! rewriting text to similar lengths stay far inside the bound.

use sluice_core::Event;

/// Bytes an event weighs beyond its body and header text (its share of the batch and the
/// event's own allocation), so splitting into many tiny events counts.
pub const EVENT_OVERHEAD_BYTES: usize = 96;
/// How many times its input weight a chain's output may weigh.
pub const GROWTH_FACTOR: usize = 16;
/// Bytes a chain's output may weigh beyond [`GROWTH_FACTOR`] times its input (small batches
/// may grow more, in proportion).
pub const GROWTH_SLACK_BYTES: usize = 1 << 20;

/// A batch grew past the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "its output weighs {out_bytes} bytes ({out_events} events) from {in_bytes} bytes in, \
     more than {max} bytes ({GROWTH_FACTOR} times the batch plus {GROWTH_SLACK_BYTES}): the \
     batch is refused; an interceptor may split or rewrite events, not multiply them"
)]
pub struct Grew {
    /// The batch's weight into the chain.
    pub in_bytes: usize,
    /// Its weight after the interceptor.
    pub out_bytes: usize,
    /// Events after the interceptor.
    pub out_events: usize,
    /// The bound.
    pub max: usize,
}

/// What `events` weigh.
pub(crate) fn weight(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| e.payload_bytes() + EVENT_OVERHEAD_BYTES)
        .fold(0usize, usize::saturating_add)
}

/// The most a chain's output may weigh for an input of `in_bytes`.
pub(crate) fn max_for(in_bytes: usize) -> usize {
    in_bytes
        .saturating_mul(GROWTH_FACTOR)
        .saturating_add(GROWTH_SLACK_BYTES)
}

/// `Err` when `events` (after a step) weigh more than `max` (from an input of `in_bytes`).
pub(crate) fn check(events: &[Event], in_bytes: usize, max: usize) -> Result<(), Grew> {
    let out_bytes = weight(events);
    if out_bytes <= max {
        return Ok(());
    }
    Err(Grew {
        in_bytes,
        out_bytes,
        out_events: events.len(),
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::component::props_of as props;
    use crate::agent::interceptor::{Chain, Refused};

    /// A chain whose search_replace turns each `a` into `replacement`.
    fn replacing(replacement: &str) -> Chain {
        Chain::from_source_props(&props(&[
            ("interceptors", "grow"),
            ("interceptors.grow.type", "search_replace"),
            ("interceptors.grow.searchPattern", "a"),
            ("interceptors.grow.replaceString", replacement),
        ]))
        .unwrap()
    }

    #[test]
    fn a_batch_that_an_interceptor_multiplies_is_refused_naming_it() {
        let batch = vec![Event::new("a".repeat(2_000)); 4];
        let in_bytes = weight(&batch);
        let err = replacing(&"x".repeat(1_000))
            .apply_native(batch)
            .unwrap_err();
        assert_eq!(err.name, "grow");
        assert!(!err.source.retryable(), "a grown batch would grow again");
        let Refused::Grew(g) = &err.source else {
            panic!("{err}")
        };
        assert_eq!((g.in_bytes, g.max), (in_bytes, max_for(in_bytes)));
        assert_eq!(g.out_bytes, 4 * (2_000 * 1_000 + EVENT_OVERHEAD_BYTES));
        assert!(err.to_string().contains("interceptor grow"), "{err}");
    }

    #[test]
    fn rewriting_and_splitting_sized_growth_passes() {
        let batch = vec![Event::new("a".repeat(2_000)); 4];
        let out = replacing("bbbb").apply_native(batch).unwrap();
        assert_eq!(out[0].body.len(), 8_000);
        // A thousand one-byte events from a thousand bytes in: within the bound.
        let tiny: Vec<Event> = (0..1_000).map(|_| Event::new("z")).collect();
        let max = max_for(weight(&[Event::new("z".repeat(1_000))]));
        assert!(check(&tiny, 1_096, max).is_ok());
    }
}
