//! The `hdfs` sink's one byte budget across its open buckets (`hdfs.maxBufferBytes`): the
//! bytes of the batch being built that are not yet written, summed over every open bucket.
//! Before an event is added, [`event_bytes_max`] bounds what it can add; when that would take
//! the sum over the budget the writer first writes the largest buffers (`writer.rs`), so
//! header values that open many buckets cannot multiply the sink's memory. Writing early
//! acknowledges nothing: the take is still committed only once the whole batch is durable.
//!
//! [`BufferGauge`] publishes the sum (`BufferedBytes`) and its high-water mark since start
//! (`BufferedBytesPeak`) to the sink's counter group.

use std::sync::atomic::{AtomicU64, Ordering};

use sluice_core::Event;

/// Default `hdfs.maxBufferBytes`: 64 MiB.
pub const BUFFER_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// Smallest `hdfs.maxBufferBytes`: 64 KiB.
pub const BUFFER_BYTES_MIN: u64 = 64 * 1024;
/// Largest `hdfs.maxBufferBytes`: 64 GiB.
pub const BUFFER_BYTES_LIMIT: u64 = 64 * 1024 * 1024 * 1024;

/// Bytes every format may add around an event beyond its body and headers (lengths, the
/// SequenceFile key and sync marker, an Avro block's count, size and sync marker).
const EVENT_FRAMING_BYTES_MAX: usize = 64;
/// Bytes any format adds per header beyond its key and value (`k=v, ` in text, two Avro
/// length prefixes).
const HEADER_FRAMING_BYTES_MAX: usize = 24;

/// An upper bound on the bytes adding `e` puts into an encoder's buffers, in every format.
pub fn event_bytes_max(e: &Event) -> usize {
    let headers: usize = e
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.len() + HEADER_FRAMING_BYTES_MAX)
        .sum();
    e.body.len() + headers + EVENT_FRAMING_BYTES_MAX
}

/// The sink's buffered bytes, shared with its metrics.
#[derive(Debug, Default)]
pub struct BufferGauge {
    now: AtomicU64,
    peak: AtomicU64,
}

impl BufferGauge {
    /// Records the sum of buffered bytes now.
    pub fn set(&self, bytes: usize) {
        let bytes = bytes as u64;
        self.now.store(bytes, Ordering::Relaxed);
        self.peak.fetch_max(bytes, Ordering::Relaxed);
    }

    /// The sum of buffered bytes now.
    pub fn bytes(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    /// The largest sum seen since start.
    pub fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_covers_a_text_line_with_headers() {
        let e = Event::new("body").header("app", "a").header("host", "h1");
        let text = super::super::format::headers_text(&e, false).len() + e.body.len() + 1;
        assert!(event_bytes_max(&e) >= text);
    }

    #[test]
    fn the_gauge_keeps_its_peak() {
        let g = BufferGauge::default();
        g.set(10);
        g.set(30);
        g.set(5);
        assert_eq!((g.bytes(), g.peak_bytes()), (5, 30));
    }
}
