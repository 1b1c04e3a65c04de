//! Where a configuration comes from besides local files: `--conf-uri` (HTTP and HTTPS,
//! polled with `If-Modified-Since`, [`http`]) with the last good copy kept in a backup
//! directory ([`backup`]), and ZooKeeper's `BASE/AGENT` znode, watched ([`zk`]). Each hands
//! properties text to `crate::agent::config` as a `ConfFile`; nothing here parses keys.
//!
//! Architecture Invariant: every network wait here has a timeout, every body a maximum
//! ([`CONF_BYTES_MAX`]).

pub mod backup;
pub mod http;
pub mod zk;

/// The largest configuration text accepted from a URI or a znode (ZooKeeper's own default
/// `jute.maxbuffer` is 1 MiB).
pub(crate) const CONF_BYTES_MAX: usize = 1 << 20;
