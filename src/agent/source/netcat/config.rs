//! The `netcat` source's keys (Flume's `NetcatSource`): `bind`, `port`, `max-line-length`
//! (512), `ack-every-event` (true), plus Sluice's `maxConnections` (256).

use crate::agent::config::limits::{CONNECTIONS_MAX, LINE_BYTES_MAX};
use crate::agent::config::Ctx;

/// Default `maxConnections` of a netcat source: each connection costs a descriptor and a
/// task, and 256 leaves room under the common 1,024 open-file limit for the channels.
pub(crate) const NETCAT_CONNECTIONS_DEFAULT: u64 = 256;

/// `netcat` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetcatConfig {
    /// `bind`.
    pub bind: String,
    /// `port`.
    pub port: u16,
    /// `max-line-length` in bytes (default 512).
    pub max_line_length: usize,
    /// `ack-every-event` (default true): answer `OK` after each event is committed.
    pub ack_every_event: bool,
    /// `maxConnections` (default 256): connections served at once; more are closed at once.
    pub max_connections: usize,
}

/// Reads a `netcat` source's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<NetcatConfig> {
    let bind = cx.required("bind");
    let port = cx.port("port");
    let max_line_length = cx.bytes_usize("max-line-length", 512, 1, LINE_BYTES_MAX);
    let ack_every_event = cx.bool("ack-every-event", true);
    let max_connections = cx.usize(
        "maxConnections",
        NETCAT_CONNECTIONS_DEFAULT,
        1,
        CONNECTIONS_MAX,
    );
    Some(NetcatConfig {
        bind: bind?,
        port: port?,
        max_line_length,
        ack_every_event,
        max_connections,
    })
}
