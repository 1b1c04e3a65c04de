//! What a decoded event is counted for in memory, so a source can bound the events a request
//! turns into before it decodes them: its body, keys and values, plus a fixed cost per event
//! and per header. A header of one-byte key and value takes 4 bytes in Avro and 8 in JSON,
//! and about 100 in memory; counting it so is what keeps a request of many tiny headers from
//! turning a few MiB into a GiB of events.

/// Bytes an event is counted for beyond its body and headers: the `Event` (48 bytes) in a
/// `Vec` that may hold up to twice its length, and the body's allocation.
pub const EVENT_COST_BYTES: u64 = 96;
/// Bytes a header is counted for beyond its key and value: two `String`s in a `BTreeMap`
/// node (about half full) and two small allocations.
pub const HEADER_COST_BYTES: u64 = 128;

/// A running count of decoded bytes with a maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Bytes counted so far.
    pub bytes: u64,
    /// The most allowed.
    pub max: u64,
}

/// The count passed its maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

impl Cost {
    /// Nothing counted yet, at most `max`.
    pub fn new(max: u64) -> Self {
        Cost { bytes: 0, max }
    }

    /// Counts `n` more bytes; `Err` once past the maximum (call it before allocating them).
    pub fn add(&mut self, n: u64) -> Result<(), OverBudget> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.max {
            return Err(OverBudget);
        }
        Ok(())
    }

    /// Counts one event (without its body and headers).
    pub fn event(&mut self) -> Result<(), OverBudget> {
        self.add(EVENT_COST_BYTES)
    }

    /// Counts one header of these key and value lengths.
    pub fn header(&mut self, key_len: usize, value_len: usize) -> Result<(), OverBudget> {
        self.add(HEADER_COST_BYTES + key_len as u64 + value_len as u64)
    }
}
