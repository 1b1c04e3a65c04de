//! The headers a sink writes for people or other programs (`HEADER_AND_TEXT` and `avro_event`
//! of file_roll, hdfs and s3, the logger sink, Java serializers): the event's own headers in
//! the order Flume prints them (Java's `HashMap` order, [`sluice_wire::java_map`]), without
//! the event id ([`EVENT_ID_HEADER`]). The id is transport metadata: it travels inside the
//! channel and between Sluice hops (avro, thrift), and where it is a consumer's documented
//! dedup key it goes in a place of its own (kafka's record header, http's `Idempotency-Key`),
//! never among the headers a sink writes out. A sink's `keepEventId = true` writes it too.

use crate::agent::config::Ctx;
use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::Event;
use sluice_wire::java_map::{hashmap_order, write_map_string};

/// The key (on any sink that writes headers out) that keeps the event id among them.
pub(crate) const KEEP_EVENT_ID_KEY: &str = "keepEventId";

/// Reads a sink's `keepEventId` (default false).
pub(crate) fn keep_event_id(cx: &mut Ctx<'_>) -> bool {
    cx.bool(KEEP_EVENT_ID_KEY, false)
}

/// The event's headers as a sink writes them: Flume's order, the id only with `keep_id`.
pub(crate) fn flume_order(e: &Event, keep_id: bool) -> Vec<(&str, &str)> {
    hashmap_order(
        e.headers
            .iter_inserted()
            .filter(|(k, _)| keep_id || *k != EVENT_ID_HEADER),
    )
}

/// Appends what Flume's `HEADER_AND_TEXT` writes before a body: Java's `Map.toString()` of
/// the headers (in Flume's order) and a space.
pub(crate) fn write_header_text(out: &mut Vec<u8>, e: &Event, keep_id: bool) {
    write_map_string(out, &flume_order(e, keep_id));
    out.push(b' ');
}

/// The event as a sink hands it to a program of someone else's (a Java serializer): without
/// the id unless `keep_id`; borrowed when there is nothing to remove.
pub(crate) fn without_id(e: &Event, keep_id: bool) -> std::borrow::Cow<'_, Event> {
    if keep_id || !e.headers.contains_key(EVENT_ID_HEADER) {
        return std::borrow::Cow::Borrowed(e);
    }
    let mut owned = e.clone();
    owned.headers.remove(EVENT_ID_HEADER);
    std::borrow::Cow::Owned(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Event, keep: bool) -> String {
        let mut out = Vec::new();
        write_header_text(&mut out, e, keep);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn the_event_id_is_left_out_unless_the_sink_keeps_it() {
        let e = Event::new("b")
            .header("timestamp", "1")
            .header("host", "h")
            .header(EVENT_ID_HEADER, "0000000000000007:3");
        assert_eq!(text(&e, false), "{host=h, timestamp=1} ");
        assert!(text(&e, true).contains("sluiceId=0000000000000007:3"));
        assert!(!without_id(&e, false).headers.contains_key(EVENT_ID_HEADER));
        assert!(without_id(&e, true).headers.contains_key(EVENT_ID_HEADER));
        assert!(matches!(
            without_id(&Event::new("x"), false),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
