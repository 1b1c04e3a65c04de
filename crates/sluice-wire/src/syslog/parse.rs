//! Pure syslog message parsing with the semantics of Flume's `SyslogUtils`: one frame (the
//! bytes of one message, without its terminator) becomes one event.
//!
//! - A frame that does not start with `<`, or whose priority is empty, not digits or longer
//!   than 3 digits, is **Invalid**: headers `Facility=0`, `Severity=0`,
//!   `flume.syslog.status=Invalid`, and the raw frame as body.
//! - Otherwise `Facility = pri / 8`, `Severity = pri % 8`, and the frame is matched against
//!   Flume's RFC 5424 pattern, then its RFC 3164 pattern (the same regular expressions, ASCII
//!   classes), by hand in `head.rs`; the `regex` crate runs them only in the tests, as the
//!   oracle the hand-written matchers must equal on every input. A match adds `priority`,
//!   `version` (5424), `timestamp` (epoch millis) and `host`, and the body is the message
//!   after the host. No match keeps the raw frame as body.
//! - A frame cut at `eventSize` is marked `flume.syslog.status=Incomplete`.
//! - `keepFields`: `all` keeps the raw frame as body; a list puts the named fields back in
//!   front of the body (`<pri>version timestamp hostname body`).
//!
//! Deliberate differences from Flume (documented in docs/components.md): timestamps with a
//! fraction honour their zone (Flume's first date format matches a prefix and reads them in
//! local time), a fraction is read as a decimal fraction (Flume reads `.5` as 5 ms), a missing
//! field kept in the body is written `-` (Flume writes `null`), and the body bytes are kept as
//! received instead of being decoded and re-encoded. Timestamps are read in `clock.rs`.

mod clock;
mod head;

pub use clock::Clock;

use std::borrow::Cow;

use sluice_core::{Bytes, Event};

/// Header with the facility (`pri / 8`).
pub const FACILITY: &str = "Facility";
/// Header with the severity (`pri % 8`).
pub const SEVERITY: &str = "Severity";
/// Header marking invalid or cut messages.
pub const STATUS: &str = "flume.syslog.status";
/// `flume.syslog.status` of a message that is not syslog.
pub const STATUS_INVALID: &str = "Invalid";
/// `flume.syslog.status` of a message cut at `eventSize`.
pub const STATUS_INCOMPLETE: &str = "Incomplete";
/// Flume's default `eventSize`.
pub const EVENT_SIZE_DEFAULT: usize = 2500;
/// Flume's smallest `eventSize` (smaller values are raised to it).
pub const EVENT_SIZE_MIN: usize = 10;

/// Which fields `keepFields` puts back into the body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepFields {
    /// `all`/`true`: the raw message is the body.
    pub all: bool,
    /// `priority` in the list.
    pub priority: bool,
    /// `version` in the list.
    pub version: bool,
    /// `timestamp` in the list.
    pub timestamp: bool,
    /// `hostname` in the list.
    pub hostname: bool,
}

impl KeepFields {
    /// Flume's `keepFields` value: `none`/`false` (nothing), `all`/`true`, or a list naming
    /// any of `priority version timestamp hostname` (matched as substrings, as Flume does).
    pub fn parse(value: &str) -> KeepFields {
        let v = value.trim().to_ascii_lowercase();
        match v.as_str() {
            "" | "none" | "false" => KeepFields::default(),
            "all" | "true" => KeepFields {
                all: true,
                ..KeepFields::default()
            },
            _ => KeepFields {
                all: false,
                priority: v.contains("priority"),
                version: v.contains("version"),
                timestamp: v.contains("timestamp"),
                hostname: v.contains("hostname"),
            },
        }
    }

    fn any(&self) -> bool {
        self.priority || self.version || self.timestamp || self.hostname
    }
}

/// How frames become events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// `keepFields`.
    pub keep: KeepFields,
}

/// Turns one frame into an event. `incomplete`: the frame was cut at `eventSize`.
pub fn parse(frame: &[u8], incomplete: bool, opts: &ParseOptions, clock: &Clock) -> Event {
    let Some(pri) = priority(frame) else {
        return Event::new(frame.to_vec())
            .header(FACILITY, "0")
            .header(SEVERITY, "0")
            .header(STATUS, STATUS_INVALID);
    };
    let mut e = Event::new(Vec::new())
        .header(FACILITY, (pri / 8).to_string())
        .header(SEVERITY, (pri % 8).to_string());
    let body = match_fields(frame, opts, clock, &mut e);
    e.body = match body {
        Some(b) if !opts.keep.all && !b.is_empty() => b.into(),
        _ => Bytes::copy_from_slice(frame),
    };
    if incomplete {
        e.headers.insert(STATUS, STATUS_INCOMPLETE);
    }
    e
}

/// Flume's PRIO state machine: `<` then 1 to 3 digits then `>`.
fn priority(frame: &[u8]) -> Option<u32> {
    let rest = frame.strip_prefix(b"<")?;
    let end = rest.iter().position(|&b| b == b'>')?;
    let digits = rest.get(..end)?;
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 10 + u32::from(d - b'0')))
}

fn text(b: Option<&[u8]>) -> Option<Cow<'_, str>> {
    b.map(String::from_utf8_lossy)
}

/// Matches the known formats; sets the headers and returns the body (with kept fields).
fn match_fields(
    frame: &[u8],
    opts: &ParseOptions,
    clock: &Clock,
    e: &mut Event,
) -> Option<Vec<u8>> {
    let (f, rfc3164) = match head::rfc5424(frame) {
        Some(f) => (f, false),
        None => (head::rfc3164(frame)?, true),
    };
    let priority = text(f.priority);
    let version = text(f.version).filter(|v| !v.is_empty());
    let stamp = text(f.stamp);
    let host = text(f.host).filter(|h| !h.is_empty());
    let body = frame.get(f.body_at..).unwrap_or_default();
    if let Some(p) = &priority {
        e.headers.insert("priority", p);
    }
    if let Some(v) = &version {
        e.headers.insert("version", v);
    }
    let millis = stamp.as_deref().and_then(|s| clock.millis(s, rfc3164));
    if let Some(ms) = millis {
        e.headers.insert("timestamp", ms.to_string());
    }
    if let Some(h) = &host {
        e.headers.insert("host", h);
    }
    let k = &opts.keep;
    if k.all || !k.any() {
        return Some(body.to_vec());
    }
    let mut prefix = String::new();
    if k.priority {
        prefix.push_str(&format!("<{}>", priority.as_deref().unwrap_or("-")));
    }
    if k.version {
        if let Some(v) = &version {
            prefix.push_str(v);
            prefix.push(' ');
        }
    }
    if k.timestamp {
        prefix.push_str(stamp.as_deref().unwrap_or("-"));
        prefix.push(' ');
    }
    if k.hostname {
        prefix.push_str(host.as_deref().unwrap_or("-"));
        prefix.push(' ');
    }
    let mut out = prefix.into_bytes();
    out.extend_from_slice(body);
    Some(out)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
