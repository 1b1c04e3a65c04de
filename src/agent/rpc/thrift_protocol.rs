//! The `protocol` key of the thrift source and the thrift sink (Flume's `ThriftSource` and
//! `ThriftSink` read the same key): which Thrift protocol a connection speaks.

use crate::agent::config::ctx::Ctx;
use crate::wire::thrift::Protocol;

/// Reads `protocol`: `compact` (the default) or `binary`; an error on the key otherwise.
pub fn protocol(cx: &mut Ctx<'_>) -> Option<Protocol> {
    match cx.get("protocol") {
        None => Some(Protocol::Compact),
        Some(v) => match Protocol::parse(&v) {
            Some(p) => Some(p),
            None => {
                cx.error(
                    "protocol",
                    format!("unknown Thrift protocol {v:?}; supported: compact (default), binary"),
                );
                None
            }
        },
    }
}
