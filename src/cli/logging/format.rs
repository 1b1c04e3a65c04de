//! Line layouts beside tracing's default text: Flume's two log4j patterns, for tools and eyes
//! used to Flume's logs (the console's `%d (%t) [%p - %l] %m%n` and the LOGFILE's
//! `%d{dd MMM yyyy HH:mm:ss,SSS} %-5p [%t] (%C:%L) - %m%n`), and JSON lines (for log
//! shippers). Each puts an event's fields after the message. Where log4j names a Java class
//! (`%C`, `%l`) these name the event's target, as the default text layout does (the logger
//! sink's is `sluice::sink::logger` in every layout).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(&'static str, Value)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
}

impl Fields {
    fn of(event: &Event<'_>) -> Fields {
        let mut f = Fields::default();
        event.record(&mut f);
        f
    }

    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.rest.push((field.name(), value));
        }
    }
}

fn thread_name() -> String {
    let t = std::thread::current();
    t.name()
        .map_or_else(|| format!("{:?}", t.id()), str::to_owned)
}

/// Writes the event's fields after its message, then the line's end.
fn finish_line(mut w: Writer<'_>, f: &Fields) -> fmt::Result {
    for (k, v) in &f.rest {
        match v {
            Value::String(s) => write!(w, " {k}={s}")?,
            other => write!(w, " {k}={other}")?,
        }
    }
    writeln!(w)
}

/// What log4j's conversion characters draw from one event: `%d`, `%t`, `%p`, the target
/// standing for `%C`, the file name and line of `%l`/`%L`, and `%m`.
struct Log4jParts<'a> {
    date: String,
    thread: String,
    level: &'static str,
    target: &'a str,
    file: &'a str,
    line: u32,
    message: &'a str,
}

/// Writes one log4j line: `pattern` over the event's [`Log4jParts`] (the date in `date`'s
/// format, local time), then the event's other fields and the line's end.
fn log4j_line(
    mut w: Writer<'_>,
    date: &str,
    meta: &Metadata<'_>,
    f: Fields,
    pattern: impl FnOnce(&mut Writer<'_>, Log4jParts<'_>) -> fmt::Result,
) -> fmt::Result {
    let file = meta
        .file()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or("?");
    let parts = Log4jParts {
        date: chrono::Local::now().format(date).to_string(),
        thread: thread_name(),
        level: meta.level().as_str(),
        target: meta.target(),
        file,
        line: meta.line().unwrap_or(0),
        message: &f.message,
    };
    pattern(&mut w, parts)?;
    finish_line(w, &f)
}

/// Flume's log4j console layout, `%d (%t) [%p - %l] %m%n`: log4j's default date
/// (`yyyy-MM-dd HH:mm:ss,SSS`), the thread, the level, and the location as
/// `target(file.rs:line)` where Java has `class.method(File.java:line)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlumeConsoleFormat;

impl FlumeConsoleFormat {
    /// The line of an event with metadata `meta` and fields `f`.
    fn line(&self, w: Writer<'_>, meta: &Metadata<'_>, f: Fields) -> fmt::Result {
        log4j_line(w, "%Y-%m-%d %H:%M:%S,%3f", meta, f, |w, p| {
            write!(
                w,
                "{} ({}) [{} - {}({}:{})] {}",
                p.date, p.thread, p.level, p.target, p.file, p.line, p.message
            )
        })
    }
}

/// Flume's log4j `LOGFILE` layout.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlumeFormat;

impl FlumeFormat {
    /// The line of an event with metadata `meta` and fields `f`.
    fn line(&self, w: Writer<'_>, meta: &Metadata<'_>, f: Fields) -> fmt::Result {
        log4j_line(w, "%d %b %Y %H:%M:%S,%3f", meta, f, |w, p| {
            write!(
                w,
                "{} {:<5} [{}] ({}:{}) - {}",
                p.date, p.level, p.thread, p.target, p.line, p.message
            )
        })
    }
}

/// One JSON object per line: `timestamp` (UTC, RFC 3339 with milliseconds), `level`,
/// `target`, `thread`, `message`, `fields`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFormat;

impl JsonFormat {
    /// The line of an event with metadata `meta` and fields `f`.
    fn line(&self, mut w: Writer<'_>, meta: &Metadata<'_>, f: Fields) -> fmt::Result {
        let ts = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut obj = Map::new();
        obj.insert("timestamp".into(), Value::String(ts));
        obj.insert("level".into(), Value::String(meta.level().as_str().into()));
        obj.insert("target".into(), Value::String(meta.target().into()));
        obj.insert("thread".into(), Value::String(thread_name()));
        obj.insert("message".into(), Value::String(f.message));
        let fields: Map<String, Value> =
            f.rest.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        obj.insert("fields".into(), Value::Object(fields));
        writeln!(w, "{}", Value::Object(obj))
    }
}

/// Implements tracing's `FormatEvent` for layouts through their `line` method: the plumbing
/// (the subscriber's bounds, reading the event's fields) is written once for them all.
macro_rules! format_event_by_line {
    ($($layout:ty),+) => {$(
        impl<S, N> FormatEvent<S, N> for $layout
        where
            S: Subscriber + for<'a> LookupSpan<'a>,
            N: for<'a> FormatFields<'a> + 'static,
        {
            fn format_event(
                &self,
                _ctx: &FmtContext<'_, S, N>,
                w: Writer<'_>,
                event: &Event<'_>,
            ) -> fmt::Result {
                self.line(w, event.metadata(), Fields::of(event))
            }
        }
    )+};
}

format_event_by_line!(FlumeConsoleFormat, FlumeFormat, JsonFormat);
