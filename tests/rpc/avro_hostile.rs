//! The avro source against hostile peers, in a real agent process at default settings, beside
//! a netcat source of the same agent that a client keeps using: a header-heavy `appendBatch`,
//! a 60 MiB handshake protocol text, 24 connections holding partial 64 MiB frames, a peer
//! dribbling one byte at a time, and call metadata that tries to forge a log line. After each
//! attack the agent's peak RSS (`VmHWM` in /proc) must be under 512 MiB, the netcat client
//! must have gone on getting its `OK`s, and the agent must still serve.

use crate::support::hostile_support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hostile_support::{
    attack, header_heavy_frame, netcat_flow, plain, send_and_wait_close, start, Bed, Flow,
};

/// The bound on the agent's peak RSS under every attack.
const VM_HWM_MAX_MIB: u64 = 512;
/// A liveness bound, not a speed one, on the netcat client's longest wait for one answer
/// during an attack: wide enough for a loaded CI machine. The gaps are printed (≈ 0.2 s
/// since decoding left the async workers, 1.7-4.4 s before: docs/performance-findings.md); this
/// bound catches an agent that stops answering, the memory bound below the blow-ups.
const FLOW_GAP_MAX: Duration = Duration::from_secs(15);

/// One attack at a time: they measure the CPU and memory of their own agent.
static SERIAL: Mutex<()> = Mutex::new(());

/// Checks the bounds after an attack.
fn check(bed: &Bed, flow: Flow) {
    let (acks, gap) = flow.finish();
    let hwm = bed.vm_hwm_mib();
    eprintln!("netcat: {acks} acks, longest wait {gap:?}; VmHWM {hwm} MiB");
    assert!(
        acks > 0,
        "the netcat client got no answer during the attack"
    );
    assert!(
        gap < FLOW_GAP_MAX,
        "the netcat client waited {gap:?} for an answer"
    );
    assert!(hwm < VM_HWM_MAX_MIB, "peak RSS {hwm} MiB");
    bed.still_serves();
}

#[test]
fn two_peers_sending_header_heavy_batches_cost_neither_the_workers_nor_the_memory() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    let frame = Arc::new(header_heavy_frame());
    assert!(frame.len() > 20 << 20, "{} bytes", frame.len());
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    attack(2, 3, move || send_and_wait_close(port, &frame));
    check(&bed, flow);
    assert_eq!(bed.read_fails(), 6, "every such call was refused");
}

#[test]
fn a_sixty_mib_handshake_text_is_refused_from_its_length() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    // An unknown client hash with 60 MiB of valid JSON as its protocol.
    let mut text = b"[".to_vec();
    text.extend(b"{},".repeat(20 << 20));
    text.extend(b"{}]");
    let mut p = vec![7u8; 16];
    p.push(2);
    plain::string(&mut p, &text);
    p.extend_from_slice(&plain::FLUME_MD5);
    p.push(0);
    p.push(0);
    plain::string(&mut p, b"append");
    p.extend([0, 0]);
    let frame = Arc::new(plain::frame(1, &p));
    drop(text);
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    attack(1, 2, move || send_and_wait_close(port, &frame));
    check(&bed, flow);
    assert_eq!(bed.read_fails(), 2);
    assert!(bed.agent.log_text().contains("handshake clientProtocol"));
}

#[test]
fn connections_holding_partial_frames_hold_no_more_than_the_frame_budget() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(tmp.path(), "");
    let flow = netcat_flow(bed.netcat);
    let port = bed.avro;
    // 24 connections each announce a 64 MiB frame and send 40 MiB of it, then wait.
    let conns: Vec<_> = (0..24)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
                let mut head = vec![0, 0, 0, 1, 0, 0, 0, 1];
                head.extend_from_slice(&((64 << 20) - 64i32).to_be_bytes());
                let _ = s.write_all(&head);
                let chunk = vec![0u8; 1 << 20];
                for _ in 0..40 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
                s
            })
        })
        .collect();
    let held: Vec<TcpStream> = conns.into_iter().map(|t| t.join().unwrap()).collect();
    std::thread::sleep(Duration::from_millis(500));
    check(&bed, flow);
    drop(held);
}

#[test]
fn a_peer_dribbling_a_frame_is_closed_by_the_whole_frame_deadline() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    // Each byte comes well within request-timeout; the frame as a whole does not.
    let bed = start(tmp.path(), "a1.sources.r1.request-timeout = 1000\n");
    let mut s = TcpStream::connect(("127.0.0.1", bed.avro)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let frame = plain::frame(1, &plain::request(true, "append", &[("k", "v", b"x")]));
    let started = Instant::now();
    let mut closed_after = None;
    for b in frame.iter().take(20) {
        if s.write_all(&[*b]).is_err() || plain::closed_by_server(&mut s) {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the dribbling connection is still open after 6 s");
    assert!(closed_after < Duration::from_secs(5), "{closed_after:?}");
    assert_eq!(bed.read_fails(), 1);
    assert!(bed.agent.log_text().contains("from its first byte"));
    bed.still_serves();
}

#[test]
fn call_metadata_forging_a_log_line_is_logged_escaped() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let bed = start(
        tmp.path(),
        "a1.sources.r1.clientGoneAfter = 1s\na1.sources.r1.clientForgetAfter = 1h\n",
    );
    let forged = "edge\n2026-11-23T00:00:00.000000Z ERROR sluice: forged line\u{1b}[2J";
    let mut call = plain::FLUME_MD5.to_vec();
    call.push(0);
    call.extend_from_slice(&plain::FLUME_MD5);
    call.push(0);
    plain::long(&mut call, 2);
    plain::string(&mut call, b"sluice.agent");
    plain::string(&mut call, forged.as_bytes());
    plain::string(&mut call, b"sluice.sink");
    plain::string(&mut call, b"k1\r\n\x1b]0;title\x07");
    call.push(0);
    plain::string(&mut call, b"append");
    call.push(0);
    plain::string(&mut call, b"x");
    {
        let mut s = TcpStream::connect(("127.0.0.1", bed.avro)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&plain::frame(1, &call)).unwrap();
        assert_eq!(plain::read_frame(&mut s).unwrap().0, 1);
    }
    bed.agent.wait_until("the upstream-gone alarm", || {
        bed.agent.log_text().contains("alarm raised")
    });
    let log = bed.agent.log_text();
    assert!(!log.contains('\u{1b}'), "a raw ESC reached the log:\n{log}");
    assert!(!log.contains('\r'), "a raw CR reached the log:\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.starts_with("2026-11-23T00:00:00.000000Z")),
        "a forged line:\n{log}"
    );
    assert!(
        log.contains("edge\\n2026-11-23T00:00:00.000000Z ERROR sluice: forged line\\u{1b}[2J"),
        "{log}"
    );
}
