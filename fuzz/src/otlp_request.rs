//! Fuzz body: an OTLP `ExportLogsServiceRequest` as the otlp source receives it
//! (`sluice_wire::otlp`): decoded into the borrowed types, its cost estimated, then mapped into
//! events. Nothing may panic; every record is an event or a rejection (in request order); the
//! estimate bounds the events' text (up to the input's length once more: a trace or span id
//! of any length becomes hex text twice as long, which the estimate counts as a fixed-size
//! field; a real id is 16 or 8 bytes); and the accepted events, encoded by the sink's encoder
//! and received again, map back to the same headers and bodies.

use bytes::Bytes;
use prost::Message;
use sluice_wire::otlp::borrowed::ExportLogsServiceRequest;
use sluice_wire::otlp::cost::{mapped_bytes, records};
use sluice_wire::otlp::{request_events, ExportBatch};

/// Largest event the mapping takes, as the source's default `maxEventBytes` (1 MiB).
const EVENT_BYTES_MAX: usize = 1 << 20;

/// Runs one input.
pub fn run(data: &[u8]) {
    let buf = Bytes::copy_from_slice(data);
    let Ok(req) = ExportLogsServiceRequest::decode(buf) else {
        return;
    };
    let records = records(&req);
    let cost = mapped_bytes(&req, data.len());
    let mapped = request_events(req, EVENT_BYTES_MAX);
    assert_eq!(
        mapped.events.len() + mapped.rejected.len(),
        records,
        "a record neither mapped nor rejected"
    );
    assert!(
        mapped.rejected.windows(2).all(|w| w[0].index < w[1].index),
        "rejections out of request order"
    );
    assert!(mapped.rejected.iter().all(|r| r.index < records));
    let text: usize = mapped.events.iter().map(|e| e.payload_bytes()).sum();
    assert!(
        text as u64 <= cost.saturating_add(data.len() as u64),
        "events of {text} bytes over the estimate {cost}"
    );

    let batch = ExportBatch::new(mapped.events.into());
    let mut out = Vec::with_capacity(batch.encoded_len());
    batch.encode(&mut out);
    assert_eq!(
        out.len(),
        batch.encoded_len(),
        "encoded_len is not the bytes written"
    );
    let again =
        ExportLogsServiceRequest::decode(Bytes::from(out)).expect("the encoder's bytes decode");
    let back = request_events(again, usize::MAX);
    assert!(back.rejected.is_empty(), "{:?}", back.rejected);
    assert_eq!(back.events.len(), batch.events().len());
    for (got, &i) in back.events.iter().zip(batch.order()) {
        let want = &batch.events()[i];
        assert_eq!(got.headers.to_map(), want.headers.to_map(), "event {i}");
        assert_eq!(got.body, want.body, "event {i}");
    }
}
