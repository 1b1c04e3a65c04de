//! Event ids and the table that recognises an event committed before (exactly-once).
//!
//! An event's id is a span `(lo, hi]` of an **origin**'s sequence space ([`IdSpan`]): the
//! first durable channel an event enters gives it the next number of its own origin (a span
//! of one, `(n-1, n]`), and a file source gives a line the byte range it came from, so a line
//! read again after a crash gets the same id. The id travels with the event in the
//! [`EVENT_ID_HEADER`] header, over every later hop.
//!
//! A channel remembers, per origin, the spans it committed ([`DedupTable`]: sorted, disjoint
//! ranges; consecutive ids merge into one, so an origin delivered in order costs one range
//! whatever its count) and drops a put whose span it holds. The table is bounded: at most
//! `ranges_per_origin` ranges per origin (the lowest is forgotten first: a resend that old
//! is let through, a possible duplicate, never a loss) and `origins` origins (the one seen
//! longest ago goes first, unless it was seen within `recent_ms`: then the new origin is not
//! remembered), and origins not seen for the expiry are dropped.

mod id;
mod table;

pub use id::{
    IdPrefix, IdSpan, IdText, EVENT_ID_HEADER, ID_HEADER_BYTES_MAX, ID_MAX, ID_SPAN_WIDTH_MAX,
};
pub use table::{coalesce, DedupLimits, DedupTable, OriginState, DEDUP_RECENT_MS_DEFAULT};
