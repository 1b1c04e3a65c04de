//! Issue 80, item 3 (the RPC part): an avro source reads up to 16 calls ahead on each
//! connection, and what it reads ahead counts against `max-inflight-bytes` (256 MiB by
//! default), so 24 connections each sending 16 calls of 8 MiB to a source whose channel is
//! full hold the budget, not 24 × 16 × 8 MiB (round 6 measured +697 MiB). The senders wait in
//! TCP. Measured as the agent's peak RSS growth, against the budget plus the channel's events
//! and some slack (2026-11-28: +274 MiB with all 3 GiB offered and read, the channel's
//! `keep-alive` of 1 s answering each call `FAILED`).

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::avro_plain as plain;
use crate::support::hostile_support::vm_hwm_mib;
use crate::support::multihop::Proc;
use crate::support::ports::free_port;

const CONNECTIONS: usize = 24;
const CALLS: usize = 16;
const CALL_BYTES: usize = 8 << 20;
/// The default `max-inflight-bytes`, the channel's 4 events of [`CALL_BYTES`] and slack for
/// the runtime, the socket buffers' copies and the allocator.
const HWM_GROWTH_MAX_MIB: u64 = 256 + 32 + 96;

/// avro source with the default limits -> a memory channel of 4 events no sink takes (full
/// after four calls; a put waits 1 s for room, then the call is answered `FAILED`).
fn conf(port: u16) -> String {
    format!(
        "a.sources = r1\na.channels = c1 c2\na.sinks = k1\n\
         a.sources.r1.type = avro\na.sources.r1.bind = 127.0.0.1\na.sources.r1.port = {port}\n\
         a.sources.r1.channels = c1\n\
         a.channels.c1.type = memory\na.channels.c1.capacity = 4\na.channels.c1.keep-alive = 1\n\
         a.channels.c1.transactionCapacity = 4\na.channels.c1.byteCapacity = 1073741824\n\
         a.sinks.k1.type = null\na.sinks.k1.channel = c2\na.channels.c2.type = memory\n"
    )
}

/// Writes [`CALLS`] calls of one event of [`CALL_BYTES`] on a new connection (the first with
/// the handshake), as far as the source reads them within the write timeout; bytes written.
fn send_calls(port: u16) -> usize {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_write_timeout(Some(Duration::from_secs(8))).unwrap();
    let body = vec![b'x'; CALL_BYTES];
    let mut written = 0;
    for serial in 0..CALLS {
        let payload = plain::request(serial == 0, "append", &[("k", "v", &body)]);
        let frame = plain::frame(serial as i32 + 1, &payload);
        if s.write_all(&frame).is_err() {
            break;
        }
        written += frame.len();
    }
    // Hold the connection (and what the source read of it) while the peak is measured.
    std::thread::sleep(Duration::from_secs(4));
    written
}

#[test]
fn calls_read_ahead_on_many_connections_stay_within_max_inflight_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let agent = Proc::start(tmp.path(), "a", &conf(port), port, &[]);
    let hwm0 = vm_hwm_mib(agent.child.id());
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|_| std::thread::spawn(move || send_calls(port)))
        .collect();
    let sent: usize = senders.into_iter().map(|t| t.join().unwrap()).sum();
    let hwm = vm_hwm_mib(agent.child.id());
    eprintln!(
        "VmHWM {hwm0} -> {hwm} MiB; {} MiB written by {CONNECTIONS} connections",
        sent >> 20
    );
    assert!(
        sent > 256 << 20,
        "the senders offered more than the budget: {sent}"
    );
    assert!(
        hwm.saturating_sub(hwm0) < HWM_GROWTH_MAX_MIB,
        "VmHWM {hwm0} -> {hwm} MiB\n{}",
        agent.log_text()
    );
}
