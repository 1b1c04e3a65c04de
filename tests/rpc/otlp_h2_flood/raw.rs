//! A raw HTTP/2 client for the flood tests, written frame by frame (no client library, whose
//! own limits would soften the attack): the preface, SETTINGS and their ACK, HEADERS of a gRPC
//! `LogsService/Export` call that never ends its stream, DATA, RST_STREAM; and a reader thread that
//! tallies what the server answers (its `MAX_CONCURRENT_STREAMS`, RST_STREAM codes, GOAWAY,
//! the close).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// RST_STREAM's and GOAWAY's codes.
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;

/// One frame: its 9-byte head and `payload`.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend_from_slice(&[kind, flags]);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK "literal header field without indexing, new name" (lengths under 127).
fn literal(block: &mut Vec<u8>, name: &str, value: &str) {
    block.push(0);
    block.push(name.len() as u8);
    block.extend_from_slice(name.as_bytes());
    block.push(value.len() as u8);
    block.extend_from_slice(value.as_bytes());
}

/// The HEADERS frame opening a gRPC export on `stream`, its stream left open.
pub fn export_headers(stream: u32) -> Vec<u8> {
    let mut block = Vec::new();
    for (n, v) in [
        (":method", "POST"),
        (":scheme", "http"),
        (
            ":path",
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        ),
        (":authority", "127.0.0.1"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ] {
        literal(&mut block, n, v);
    }
    frame(HEADERS, END_HEADERS, stream, &block)
}

/// A DATA frame of `bytes` on `stream`, the stream left open.
pub fn data(stream: u32, bytes: &[u8]) -> Vec<u8> {
    frame(DATA, 0, stream, bytes)
}

/// The preface and empty SETTINGS a client opens a connection with.
pub fn opening() -> Vec<u8> {
    let mut o = PREFACE.to_vec();
    o.extend_from_slice(&frame(SETTINGS, 0, 0, &[]));
    o
}

/// RST_STREAM(`code`) of `stream`.
pub fn reset(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// What the server sent on one connection.
#[derive(Debug, Default, Clone)]
pub struct Answers {
    /// The `MAX_CONCURRENT_STREAMS` of its SETTINGS.
    pub max_streams: Option<u32>,
    /// RST_STREAM frames with `REFUSED_STREAM`.
    pub refused: u32,
    /// RST_STREAM frames with another code.
    pub other_resets: u32,
    /// The GOAWAY's error code.
    pub goaway: Option<u32>,
    /// The server closed the connection.
    pub closed: bool,
}

/// A connection to the server, its preface sent and the server's SETTINGS acknowledged.
pub struct Conn {
    pub stream: TcpStream,
    settled: Arc<AtomicU32>,
    done: Arc<AtomicBool>,
    reader: Option<JoinHandle<Answers>>,
}

impl Conn {
    /// Connects, sends the preface and empty SETTINGS, and waits (bounded) for the server's.
    pub fn open(port: u16) -> std::io::Result<Conn> {
        Conn::open_from(std::net::Ipv4Addr::LOCALHOST, port)
    }

    /// [`Conn::open`] from the local address `from` (any of 127.0.0.0/8).
    pub fn open_from(from: std::net::Ipv4Addr, port: u16) -> std::io::Result<Conn> {
        let mut stream = crate::support::hostile_support::connect_from(from, port)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(PREFACE)?;
        stream.write_all(&frame(SETTINGS, 0, 0, &[]))?;
        let settled = Arc::new(AtomicU32::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (rs, s2, d2) = (stream.try_clone()?, settled.clone(), done.clone());
        let reader = std::thread::spawn(move || read_answers(rs, s2, d2));
        let end = Instant::now() + Duration::from_secs(10);
        while settled.load(Ordering::Relaxed) == 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(Conn {
            stream,
            settled,
            done,
            reader: Some(reader),
        })
    }

    /// Whether the server's SETTINGS arrived (and were acknowledged).
    pub fn settled(&self) -> bool {
        self.settled.load(Ordering::Relaxed) > 0
    }

    /// Waits (at most `wait`) for the server to close, then stops reading: its answers.
    pub fn finish(mut self, wait: Duration) -> Answers {
        let end = Instant::now() + wait;
        while Instant::now() < end && !self.reader.as_ref().is_some_and(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.done.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or_default()
    }
}

/// Reads frames until the close (or `done`): acknowledges SETTINGS, tallies the rest.
fn read_answers(mut s: TcpStream, settled: Arc<AtomicU32>, done: Arc<AtomicBool>) -> Answers {
    let mut a = Answers::default();
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut head = [0u8; 9];
    loop {
        match read_full(&mut s, &mut head, &done) {
            Ok(true) => {}
            _ => {
                a.closed = !done.load(Ordering::Relaxed);
                return a;
            }
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let mut payload = vec![0u8; len];
        if !matches!(read_full(&mut s, &mut payload, &done), Ok(true)) {
            a.closed = !done.load(Ordering::Relaxed);
            return a;
        }
        let code = |at: usize| {
            payload
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match kind {
            SETTINGS if flags & ACK == 0 => {
                for kv in payload.chunks_exact(6) {
                    if u16::from_be_bytes([kv[0], kv[1]]) == SETTINGS_MAX_CONCURRENT_STREAMS {
                        a.max_streams = Some(u32::from_be_bytes([kv[2], kv[3], kv[4], kv[5]]));
                    }
                }
                let _ = s.write_all(&frame(SETTINGS, ACK, 0, &[]));
                settled.fetch_add(1, Ordering::Relaxed);
            }
            RST_STREAM if code(0) == Some(REFUSED_STREAM) => a.refused += 1,
            RST_STREAM => a.other_resets += 1,
            GOAWAY => a.goaway = code(4),
            _ => {}
        }
    }
}

/// Fills `buf`; `Ok(false)` at the close or when `done` is set.
fn read_full(s: &mut TcpStream, buf: &mut [u8], done: &AtomicBool) -> std::io::Result<bool> {
    let mut at = 0;
    while at < buf.len() {
        match s.read(&mut buf[at..]) {
            Ok(0) => return Ok(false),
            Ok(n) => at += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if done.load(Ordering::Relaxed) {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
