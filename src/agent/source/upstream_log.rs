//! The "upstream connected" and "upstream disconnected" lines of the `avro` and `thrift`
//! sources, for upstreams only: a connection is announced at INFO once it made its first
//! valid call (as Flume's avro source logs CONNECTED), and its end at INFO only when it was
//! announced. A connection that never sent a valid frame (a port scanner, garbage, the wrong
//! protocol) is logged at DEBUG, so a flood of them costs no lines beyond the rate-limited
//! bad-input warning ([`super::refusals`]).

use std::net::SocketAddr;

/// One connection's announce-once log; logs its end when dropped.
#[derive(Debug)]
pub(crate) struct UpstreamLog<'a> {
    source: &'a str,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    announced: bool,
}

impl<'a> UpstreamLog<'a> {
    /// A connection of `source` from `peer` to `local`, accepted (DEBUG).
    pub(crate) fn accepted(source: &'a str, peer: SocketAddr, local: Option<SocketAddr>) -> Self {
        tracing::debug!(source = %source, %peer, ?local, "connection accepted");
        UpstreamLog {
            source,
            peer,
            local,
            announced: false,
        }
    }

    /// The connection made a valid call: "upstream connected" the first time.
    pub(crate) fn valid_call(&mut self) {
        if !self.announced {
            self.announced = true;
            tracing::info!(source = %self.source, peer = %self.peer, local = ?self.local, "upstream connected");
        }
    }
}

impl Drop for UpstreamLog<'_> {
    fn drop(&mut self) {
        if self.announced {
            tracing::info!(source = %self.source, peer = %self.peer, "upstream disconnected");
        } else {
            tracing::debug!(source = %self.source, peer = %self.peer, "connection closed before a valid call");
        }
    }
}
