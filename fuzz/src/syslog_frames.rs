//! Fuzz body: syslog TCP framing and message parsing. The first byte picks `eventSize`,
//! octet counting and `keepFields`; the second how the rest is split into reads. Framing
//! must not depend on how the stream was split into reads, no frame may exceed `eventSize`,
//! and every frame must parse into an event with Flume's `Facility` and `Severity` headers
//! (an Invalid one keeping the frame as body).

use sluice_wire::syslog::frame::{Frame, Framer};
use sluice_wire::syslog::parse::{parse, Clock, KeepFields, ParseOptions};

fn frames(data: &[u8], event_size: usize, octets: bool, step: usize) -> Vec<Frame> {
    let mut f = Framer::new(event_size, octets);
    let mut out = Vec::new();
    for chunk in data.chunks(step.max(1)) {
        f.push(chunk);
        while let Some(fr) = f.next_frame() {
            out.push(fr);
        }
        assert!(
            f.pending() <= event_size + 12 + step,
            "framer buffer grew unbounded"
        );
    }
    while let Some(fr) = f.finish() {
        out.push(fr);
    }
    out
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let [mode, split, rest @ ..] = data else {
        return;
    };
    let event_size = 10 + usize::from(*mode & 0x3F) * 4;
    let octets = mode & 0x40 != 0;
    let whole = frames(rest, event_size, octets, rest.len());
    let split = frames(rest, event_size, octets, 1 + usize::from(*split % 17));
    assert_eq!(whole, split, "framing depends on read boundaries");
    let total: usize = whole.iter().map(|f| f.bytes.len()).sum();
    assert!(total <= rest.len(), "frames hold more bytes than the input");
    let keep = match mode >> 6 {
        0 => "none",
        1 => "all",
        2 => "priority version timestamp hostname",
        _ => "hostname",
    };
    let opts = ParseOptions {
        keep: KeepFields::parse(keep),
    };
    let clock = Clock::at(
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        chrono::FixedOffset::east_opt(3600),
    );
    for f in &whole {
        assert!(f.bytes.len() <= event_size, "a frame exceeds eventSize");
        let e = parse(&f.bytes, f.cut, &opts, &clock);
        assert!(e.headers.contains_key("Facility") && e.headers.contains_key("Severity"));
        if e.headers.get("flume.syslog.status") == Some("Invalid") {
            assert_eq!(e.body, f.bytes, "an invalid message keeps its bytes");
        }
    }
}
