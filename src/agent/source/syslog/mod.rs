//! The syslog sources: `syslogtcp` and `multiport_syslogtcp` (tcp.rs, one accept loop per
//! port) and `syslogudp` (udp.rs). Framing (frame.rs) and parsing (parse.rs) are pure
//! functions of bytes, fuzzed in `fuzz/`; the connection code only moves frames.
//!
//! Delivery: syslog has no acknowledgement, so these sources are at-most-once across a
//! crash (what the kernel or this process had received and not yet committed is lost).
//! While the agent runs, a batch the channel refuses is retried (Flume's backoff) and the
//! connection is not read meanwhile, so a TCP sender is slowed down instead of losing events.

mod budgeted;
pub(crate) mod config;
mod conn;
pub(crate) use sluice_wire::syslog::{frame, parse};
pub(crate) mod tcp;
pub(crate) mod udp;

use config::SyslogOptions;
use frame::Frame;
use parse::{Clock, ParseOptions};
use sluice_core::Event;

/// Parses frames into events and adds the `extra` headers (client address, port).
pub(crate) fn events(
    frames: impl IntoIterator<Item = Frame>,
    opts: &SyslogOptions,
    extra: &[(String, String)],
) -> Vec<Event> {
    let clock = Clock::system();
    let popts = ParseOptions {
        keep: opts.keep.clone(),
    };
    frames
        .into_iter()
        .map(|f| {
            let mut e = parse::parse_bytes(f.bytes.into(), f.cut, &popts, &clock);
            for (k, v) in extra {
                e.headers.insert(k, v);
            }
            e
        })
        .collect()
}
