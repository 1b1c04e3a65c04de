//! The Flume event format on Kafka records (`useFlumeEventFormat`, `parseAsFlumeEvent`): the
//! record value is one Avro-binary `AvroFlumeEvent {headers: map<string>, body: bytes}`, the
//! very bytes Flume's `SpecificDatumWriter` writes, through the codec of the Avro RPC
//! (`avro::call`). Pure functions of bytes; the agent's `kafka` sink, source and channel use
//! them as `agent::kafka::format`.

use crate::avro::binary::Reader;
use crate::avro::call::{put_event, read_event, CallLimits};
use crate::avro::AvroError;
use sluice_core::Event;

/// Encodes `e` as one `AvroFlumeEvent`.
pub fn encode(e: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.body.len() + 16 + e.headers.len() * 24);
    put_event(&mut out, e);
    out
}

/// Appends `e` as one `AvroFlumeEvent` to `out` (a buffer reused from record to record).
pub fn encode_into(out: &mut Vec<u8>, e: &Event) {
    put_event(out, e);
}

/// Decodes a record value written by [`encode`] (or by Flume); trailing bytes are an error.
pub fn decode(value: &[u8]) -> Result<Event, AvroError> {
    let mut r = Reader::new(value);
    let e = read_event(&mut r, &CallLimits::default())?;
    r.finish("AvroFlumeEvent")?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_with_its_headers() {
        let e = Event::new(b"body".to_vec())
            .header("a", "1")
            .header("key", "k");
        assert_eq!(decode(&encode(&e)).unwrap(), e);
        let bare = Event::new(Vec::new());
        assert_eq!(decode(&encode(&bare)).unwrap(), bare);
    }

    #[test]
    fn the_bytes_are_flumes_avro_flume_event() {
        // map of one entry {"h": "v"}, end of map, body "xy".
        let e = Event::new(b"xy".to_vec()).header("h", "v");
        assert_eq!(encode(&e), b"\x02\x02h\x02v\x00\x04xy".to_vec());
    }

    #[test]
    fn plain_text_is_not_a_flume_event() {
        assert!(decode(b"hello world, not avro").is_err());
        assert!(decode(b"").is_err());
        let mut extra = encode(&Event::new(b"x".to_vec()));
        extra.push(0);
        assert!(decode(&extra).is_err(), "trailing bytes are refused");
    }
}
