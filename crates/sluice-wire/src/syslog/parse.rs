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
//!
//! Cost per event (W1, docs/performance.md): [`parse_bytes`] takes the frame's buffer and
//! makes the body a view of it, the headers are written once into a map sized for them, and
//! numbers are formatted on the stack: the event's allocations are its own (the shared
//! handle, the header text and index), none per field.

mod clock;
mod head;

pub use clock::Clock;

use std::borrow::Cow;

use bytes::Buf;
use sluice_core::{Bytes, Event, Headers, TEXT_SPARE_BYTES};

use head::Fields;

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
    parse_bytes(Bytes::copy_from_slice(frame), incomplete, opts, clock)
}

/// [`parse`] of a frame the caller hands over: the event's body is the frame's own buffer
/// (from where the message starts, or whole), not a copy of it.
pub fn parse_bytes(
    mut frame: Bytes,
    incomplete: bool,
    opts: &ParseOptions,
    clock: &Clock,
) -> Event {
    let Some(pri) = priority(&frame) else {
        let headers = [(FACILITY, "0"), (SEVERITY, "0"), (STATUS, STATUS_INVALID)];
        return Event::with_headers(headers, frame);
    };
    let matched = head::rfc5424(&frame)
        .map(|f| (f, false))
        .or_else(|| head::rfc3164(&frame).map(|f| (f, true)));
    // Pairs, and their keys and values: the matched text and its key (at most 9 bytes) each,
    // and room for the stamp's milliseconds (at most 20 digits, against the stamp's length).
    let (fields, text) = matched.map_or((0, 0), |(f, _)| {
        [f.priority, f.version, f.stamp, f.host]
            .iter()
            .flatten()
            .fold((0, 20), |(n, bytes), b| {
                (n + usize::from(!b.is_empty()), bytes + b.len() + 9)
            })
    });
    // Room for one more pair: the event id a file channel adds to every put.
    let pairs = 2 + usize::from(incomplete) + fields + 1;
    let text = 2 * 16 + STATUS.len() + STATUS_INCOMPLETE.len() + text + TEXT_SPARE_BYTES;
    let mut headers = Headers::with_capacity_text(pairs, text);
    let mut digits = Digits::default();
    // In key order, which the map appends without a search.
    headers.insert(FACILITY, digits.of(i64::from(pri / 8)));
    headers.insert(SEVERITY, digits.of(i64::from(pri % 8)));
    if incomplete {
        headers.insert(STATUS, STATUS_INCOMPLETE);
    }
    let body = match matched {
        Some((f, rfc3164)) => add_fields(&frame, &f, rfc3164, opts, clock, &mut headers),
        None => Body::Frame,
    };
    let body = match body {
        Body::After(at) if at < frame.len() => {
            frame.advance(at);
            frame
        }
        Body::Built(b) if !b.is_empty() => Bytes::from(b),
        _ => frame,
    };
    Event::with_headers(headers, body)
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

/// A header value's text: what the patterns capture is ASCII, so this borrows.
fn text(b: Option<&[u8]>) -> Option<Cow<'_, str>> {
    b.map(String::from_utf8_lossy)
}

/// An event's body: the frame, the frame from an offset, or built anew (`keepFields` lists).
/// An empty one is the frame (as in Flume).
enum Body {
    Frame,
    After(usize),
    Built(Vec<u8>),
}

/// Sets the matched fields' headers (after `Facility`, `Severity` and the status, in key
/// order) and says what the body is.
fn add_fields(
    frame: &[u8],
    f: &Fields<'_>,
    rfc3164: bool,
    opts: &ParseOptions,
    clock: &Clock,
    headers: &mut Headers,
) -> Body {
    let priority = text(f.priority);
    let version = text(f.version).filter(|v| !v.is_empty());
    let stamp = text(f.stamp);
    let host = text(f.host).filter(|h| !h.is_empty());
    if let Some(h) = &host {
        headers.insert("host", h);
    }
    if let Some(p) = &priority {
        headers.insert("priority", p);
    }
    let millis = stamp.as_deref().and_then(|s| clock.millis(s, rfc3164));
    if let Some(ms) = millis {
        headers.insert("timestamp", Digits::default().of(ms));
    }
    if let Some(v) = &version {
        headers.insert("version", v);
    }
    let k = &opts.keep;
    if k.all {
        return Body::Frame;
    }
    if !k.any() {
        return Body::After(f.body_at);
    }
    let body = frame.get(f.body_at..).unwrap_or_default();
    let mut out = Vec::with_capacity(frame.len() + 8);
    let field = |out: &mut Vec<u8>, v: Option<&str>| {
        out.extend_from_slice(v.unwrap_or("-").as_bytes());
        out.push(b' ');
    };
    if k.priority {
        out.push(b'<');
        out.extend_from_slice(priority.as_deref().unwrap_or("-").as_bytes());
        out.push(b'>');
    }
    if k.version && version.is_some() {
        field(&mut out, version.as_deref());
    }
    if k.timestamp {
        field(&mut out, stamp.as_deref());
    }
    if k.hostname {
        field(&mut out, host.as_deref());
    }
    out.extend_from_slice(body);
    Body::Built(out)
}

/// A decimal integer written on the stack (a header value without a `String` of its own).
#[derive(Default)]
struct Digits([u8; 20]);

impl Digits {
    fn of(&mut self, n: i64) -> &str {
        let mut v = n.unsigned_abs();
        let mut at = self.0.len();
        for slot in self.0.iter_mut().rev() {
            // `v % 10` is below 10.
            *slot = b'0' + (v % 10) as u8;
            at -= 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            at -= 1;
            if let Some(sign) = self.0.get_mut(at) {
                *sign = b'-';
            }
        }
        std::str::from_utf8(self.0.get(at..).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
