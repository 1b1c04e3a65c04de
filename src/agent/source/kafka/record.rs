//! A Kafka record as a Flume event: the event itself (the record's value, or a Flume event in
//! it with `useFlumeEventFormat`) and Flume's headers (`timestamp`, `topic`, `partition`,
//! `offset`, `key`).

use std::time::{SystemTime, UNIX_EPOCH};

use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::config::KafkaSourceConfig;
use crate::agent::kafka::format;
use sluice_core::Event;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A record that is not a Flume event though `useFlumeEventFormat = true`.
#[derive(Debug, thiserror::Error)]
#[error("not a Flume event (useFlumeEventFormat = true): {0}")]
pub(super) struct NotAFlumeEvent(#[source] crate::wire::avro::AvroError);

/// The event a record stands for, with Flume's headers.
pub(super) fn to_event(
    cfg: &KafkaSourceConfig,
    m: &BorrowedMessage<'_>,
) -> Result<Event, NotAFlumeEvent> {
    let value = m.payload().unwrap_or(&[]);
    let mut e = if cfg.use_flume_event_format {
        format::decode(value).map_err(NotAFlumeEvent)?
    } else {
        let mut e = Event::new(value.to_vec());
        if let Some(h) = m.headers() {
            for i in 0..h.count() {
                if let Some(hd) = h.try_get(i) {
                    if let Some(Ok(v)) = hd.value.map(std::str::from_utf8) {
                        e.headers.insert(hd.key, v);
                    }
                }
            }
        }
        e
    };
    let h = &mut e.headers;
    h.insert_if_absent("timestamp", || now_ms().to_string());
    if cfg.set_topic_header {
        h.insert_if_absent(&cfg.topic_header, || m.topic());
    }
    h.insert_if_absent("partition", || m.partition().to_string());
    h.insert_if_absent("offset", || m.offset().to_string());
    if let Some(k) = m.key() {
        h.insert("key", String::from_utf8_lossy(k));
    }
    Ok(e)
}
