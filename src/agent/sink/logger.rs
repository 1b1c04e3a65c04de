//! The `logger` sink: logs each event at INFO in Flume's format,
//! `Event: { headers:{k=v, ...} body: 48 69  Hi }`: the headers as a Java map prints them
//! (Flume's order, without the event id unless `keepEventId`: [`crate::agent::out_headers`]), then a
//! hex dump (16 bytes a row) and the printable text of at most `maxBytesToLog` bytes.
//! Header keys and values come from peers: their control characters are escaped (`\n`,
//! `\u{1b}`), so an event cannot forge a log line or drive the terminal.

use crate::agent::config::limits::LINE_BYTES_MAX;
use crate::agent::config::Ctx;
use crate::agent::log_text::escape;
use sluice_core::Event;

/// `logger` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggerConfig {
    /// `maxBytesToLog` (default 16): body bytes shown per event.
    pub max_bytes_to_log: usize,
    /// `keepEventId` (Sluice; default false): show the event id among the headers.
    pub keep_event_id: bool,
}

/// Reads a `logger` sink's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<LoggerConfig> {
    Some(LoggerConfig {
        max_bytes_to_log: cx.bytes_usize("maxBytesToLog", 16, 0, LINE_BYTES_MAX),
        keep_event_id: crate::agent::out_headers::keep_event_id(cx),
    })
}

/// The logger sink.
#[derive(Debug)]
pub(crate) struct LoggerSink {
    name: String,
    max_bytes_to_log: usize,
    keep_event_id: bool,
}

impl LoggerSink {
    /// A logger sink showing at most `max_bytes_to_log` body bytes.
    pub(crate) fn new(name: &str, cfg: &LoggerConfig) -> Self {
        LoggerSink {
            name: name.to_owned(),
            max_bytes_to_log: cfg.max_bytes_to_log,
            keep_event_id: cfg.keep_event_id,
        }
    }

    /// Logs every event.
    pub(crate) fn deliver(&self, events: &[Event]) {
        for e in events {
            tracing::info!(target: "sluice::sink::logger", sink = %self.name, "Event: {}", format_event(e, self.max_bytes_to_log, self.keep_event_id));
        }
    }
}

/// Flume's `EventHelper.dumpEvent` rendering of an event.
pub(crate) fn format_event(e: &Event, max_bytes: usize, keep_id: bool) -> String {
    let headers: Vec<String> = crate::agent::out_headers::flume_order(e, keep_id)
        .into_iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect();
    let body = &e.body[..e.body.len().min(max_bytes)];
    format!(
        "{{ headers:{{{}}} body:{} }}",
        headers.join(", "),
        hex_dump(body)
    )
}

fn hex_dump(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, row) in data.chunks(16).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push(' ');
        for b in row {
            out.push_str(&format!("{b:02X} "));
        }
        for _ in row.len()..16 {
            out.push_str("   ");
        }
        for &b in row {
            out.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
    }
    out
}

impl crate::agent::sink::Sink for LoggerSink {
    fn deliver(
        &mut self,
        events: Vec<Event>,
    ) -> crate::agent::channel::BoxFuture<
        '_,
        Result<crate::agent::sink::Delivery, crate::agent::sink::SinkError>,
    > {
        LoggerSink::deliver(self, &events);
        Box::pin(std::future::ready(Ok(crate::agent::sink::Delivery::Done)))
    }
}

impl crate::agent::sink::BuildSink for LoggerConfig {
    fn batch_size(&self) -> usize {
        1
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(LoggerSink::new(name, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_control_characters_are_escaped() {
        let e = Event::new("x").header("h\n", "a\n2026 ERROR forged\u{1b}[2J");
        let s = format_event(&e, 16, false);
        assert!(
            s.starts_with("{ headers:{h\\n=a\\n2026 ERROR forged\\u{1b}[2J} body:"),
            "{s}"
        );
        assert!(!s.contains('\u{1b}'));
    }

    #[test]
    fn events_render_like_flume_with_headers_hex_and_text() {
        let e = Event::new(&b"Hello world!\r"[..])
            .header("a", "1")
            .header("b", "x");
        let s = format_event(&e, 16, false);
        assert_eq!(
            s,
            "{ headers:{a=1, b=x} body: 48 65 6C 6C 6F 20 77 6F 72 6C 64 21 0D          Hello world!. }"
        );
    }

    #[test]
    fn the_body_is_cut_at_max_bytes_to_log() {
        let e = Event::new(vec![b'a'; 40]);
        let s = format_event(&e, 4, false);
        assert_eq!(
            s,
            format!(
                "{{ headers:{{}} body: 61 61 61 61 {}aaaa }}",
                "   ".repeat(12)
            )
        );
    }
}
