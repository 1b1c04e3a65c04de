//! The headers an RPC client (avro, thrift) puts on the wire for an event: its own headers in
//! the order they were inserted, so the next hop rebuilds the same sequence (Flume prints
//! headers in a Java `HashMap`'s order, which depends on it: [`crate::java_map`]), and its
//! event id ([`EVENT_ID_HEADER`]) only when the call carries ids. A Flume collector keeps an
//! id it is sent as a header of the event's own and writes it out (`header_and_text`,
//! `avro_event`, its logger), so a sink sends ids only to a peer known to take them
//! (docs/exactly-once.md, "A staged migration").

use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::Headers;

/// How many pairs [`sent`] yields.
pub fn sent_len(h: &Headers, with_ids: bool) -> usize {
    if !with_ids && h.contains_key(EVENT_ID_HEADER) {
        h.len() - 1
    } else {
        h.len()
    }
}

/// The pairs sent, in insertion order; the id only `with_ids`.
pub fn sent(h: &Headers, with_ids: bool) -> impl Iterator<Item = (&str, &str)> {
    h.iter_inserted()
        .filter(move |(k, _)| with_ids || *k != EVENT_ID_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_left_out_unless_sent_and_the_rest_keep_their_insertion_order() {
        let mut h = Headers::new();
        h.insert("timestamp", "1");
        h.insert(EVENT_ID_HEADER, "0000000000000007:3");
        h.insert("datacenter", "NYC_01");
        let without: Vec<_> = sent(&h, false).collect();
        assert_eq!(without, [("timestamp", "1"), ("datacenter", "NYC_01")]);
        assert_eq!(sent_len(&h, false), 2);
        assert_eq!(sent(&h, true).count(), 3);
        assert_eq!(sent_len(&h, true), 3);
        h.remove(EVENT_ID_HEADER);
        assert_eq!(sent_len(&h, false), 2);
    }
}
