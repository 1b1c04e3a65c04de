//! What the avro and thrift clients share around their calls: [`dial`], the connection made
//! within `connect-timeout` (the failure a [`LinkError`] naming the peer), and [`timed`], one
//! call's latency, answered or failed, recorded in the histogram a client was given
//! (`record_latency`), if any.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::agent::histogram::Histogram;
use crate::agent::rpc::transport::{ClientTransport, Conn, LinkError};

/// Connects to `addr` through `transport` (TLS, deflate) within `timeout`; with the
/// connection, the deadline and the timeout in ms, for a handshake bounded by the same.
pub(crate) async fn dial(
    transport: &ClientTransport,
    addr: &str,
    timeout: Duration,
) -> Result<(Conn, Instant, u64), LinkError> {
    let deadline = Instant::now() + timeout;
    let ms = timeout.as_millis() as u64;
    let stream = transport
        .dial(addr, deadline)
        .await
        .map_err(|e| LinkError::dial(addr, e, ms))?;
    Ok((stream, deadline, ms))
}

/// Runs `call` and records how long it took in `latency`, whatever it returned.
pub(crate) async fn timed<T>(latency: Option<Arc<Histogram>>, call: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let r = call.await;
    if let Some(h) = latency {
        h.observe_duration(start.elapsed());
    }
    r
}
