//! Pure syslog message parsing with the semantics of Flume's `SyslogUtils`: one frame (the
//! bytes of one message, without its terminator) becomes one event.
//!
//! - A frame that does not start with `<`, or whose priority is empty, not digits or longer
//!   than 3 digits, is **Invalid**: headers `Facility=0`, `Severity=0`,
//!   `flume.syslog.status=Invalid`, and the raw frame as body.
//! - Otherwise `Facility = pri / 8`, `Severity = pri % 8`, and the frame is matched against
//!   Flume's RFC 5424 pattern, then its RFC 3164 pattern (the same regular expressions, ASCII
//!   classes). A match adds `priority`, `version` (5424), `timestamp` (epoch millis) and `host`,
//!   and the body is the message after the host. No match keeps the raw frame as body.
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

pub use clock::Clock;

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::Regex;

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

// Each format's pattern is its head (priority, version, timestamp, host) and then the body,
// `([^\r\n]*)\z`. The head alone is matched first (a few dozen bytes instead of the whole
// message); see [`fields`].
macro_rules! rfc5424_head {
    () => {
        r"(?-u)\A<([0-9]{1,3})>(?:([0-9]?)[ \t\n\x0B\x0C\r]?)(?:([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:[+-][0-9]{2}:[0-9]{2}|Z)?)|-)[ \t\n\x0B\x0C\r](?:([A-Za-z0-9_][A-Za-z0-9_.@-]*)|-)[ \t\n\x0B\x0C\r]"
    };
}
macro_rules! rfc3164_head {
    () => {
        r"(?-u)\A<([0-9]{1,3})>(?:([0-9])?[ \t\n\x0B\x0C\r]?)([A-Z][a-z][a-z][ \t\n\x0B\x0C\r]{1,2}[0-9]{1,2}[ \t\n\x0B\x0C\r][0-9]{2}:[0-9]{2}:[0-9]{2})[ \t\n\x0B\x0C\r]([A-Za-z0-9_][A-Za-z0-9_.@-]*)[ \t\n\x0B\x0C\r]"
    };
}
const RFC5424: &str = concat!(rfc5424_head!(), r"([^\r\n]*)\z");
const RFC3164: &str = concat!(rfc3164_head!(), r"([^\r\n]*)\z");

/// A format's head pattern and its whole pattern.
struct Pattern {
    head: Regex,
    full: Regex,
}

fn patterns() -> &'static [Pattern; 2] {
    static P: OnceLock<[Pattern; 2]> = OnceLock::new();
    P.get_or_init(|| {
        #[expect(
            clippy::expect_used,
            reason = "constant patterns, compiled by the unit tests"
        )]
        [
            Pattern {
                head: Regex::new(rfc5424_head!()).expect("RFC 5424 head"),
                full: Regex::new(RFC5424).expect("RFC 5424 pattern"),
            },
            Pattern {
                head: Regex::new(rfc3164_head!()).expect("RFC 3164 head"),
                full: Regex::new(RFC3164).expect("RFC 3164 pattern"),
            },
        ]
    })
}

/// The fields a format's pattern captures in a frame.
struct Fields<'f> {
    priority: Option<&'f [u8]>,
    version: Option<&'f [u8]>,
    stamp: Option<&'f [u8]>,
    host: Option<&'f [u8]>,
    body: &'f [u8],
}

/// Matches `frame` against `p`, exactly as `p.full` would. The head alone is matched first:
/// when the body after it holds no CR or LF, the head's preferred match also satisfies the
/// body's `[^\r\n]*\z`, so it is the whole pattern's preferred match too (both try the
/// head's alternatives in the same order). Otherwise the whole pattern decides.
fn fields<'f>(p: &Pattern, frame: &'f [u8]) -> Option<Fields<'f>> {
    let caps = p.head.captures(frame)?;
    let end = caps.get(0).map_or(0, |m| m.end());
    let body = frame.get(end..).unwrap_or_default();
    let bytes = |i: usize, c: &regex::bytes::Captures<'f>| c.get(i).map(|m| m.as_bytes());
    if !body.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Some(Fields {
            priority: bytes(1, &caps),
            version: bytes(2, &caps),
            stamp: bytes(3, &caps),
            host: bytes(4, &caps),
            body,
        });
    }
    let caps = p.full.captures(frame)?;
    Some(Fields {
        priority: bytes(1, &caps),
        version: bytes(2, &caps),
        stamp: bytes(3, &caps),
        host: bytes(4, &caps),
        body: bytes(5, &caps).unwrap_or_default(),
    })
}

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
    let [p5424, p3164] = patterns();
    let (f, rfc3164) = match fields(p5424, frame) {
        Some(f) => (f, false),
        None => (fields(p3164, frame)?, true),
    };
    let priority = text(f.priority);
    let version = text(f.version).filter(|v| !v.is_empty());
    let stamp = text(f.stamp);
    let host = text(f.host).filter(|h| !h.is_empty());
    let body = f.body;
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
