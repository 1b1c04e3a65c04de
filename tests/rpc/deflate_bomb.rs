//! Deflate on the real binary: what inflating costs is bounded by the frames it fills, not by
//! how well data compresses (issue 64, item 1; issue 47, item 10 before it). A collector's
//! deflate avro port gets zlib bombs (frames of 80 MiB of zeros, over `max-frame-size`, each
//! about 80 KiB on the wire) and cuts each at the frame's header, naming `max-frame-size`;
//! bombs under the limit (48 MiB) cost what the same frames sent plain would: each is read
//! into its reservation from `max-inflight-bytes` and answered as the garbage call it is. A second agent's avro sink with `compression-type = deflate` delivers all its
//! lines to the same port meanwhile. And a client that deflates as Flume's does (one zlib
//! stream at level 6, a SYNC flush per call) sending 100,000 identical log lines, which
//! compress far past 100:1, gets every call answered `OK` and every line written.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::agent_proc::HttpAgent;
use crate::support::avro_plain as plain;
use crate::support::lines_support::{netcat_send, written};
use crate::support::multihop::{avro_sink, collector_conf, edge_conf, lines, wait_for_all};
use crate::support::ports::free_port;

/// Bytes of zeros in one bomb frame over the default max-frame-size of 64 MiB.
const BOMB_FRAME_BYTES: usize = 80 << 20;
/// Bytes of zeros in one bomb frame under it.
const SMALL_BOMB_FRAME_BYTES: usize = 48 << 20;
/// Bomb frames sent at most on one connection.
const BOMB_FRAMES: usize = 4;

/// The compressed bytes of `BOMB_FRAMES` avro frames, each one buffer of `frame_bytes` zeros.
fn bomb(frame_bytes: usize) -> Vec<Vec<u8>> {
    let mut z = flate2::Compress::new(flate2::Compression::best(), true);
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    for serial in 0..BOMB_FRAMES {
        let mut wire = Vec::with_capacity(128 << 10);
        let mut head = Vec::new();
        head.extend_from_slice(&(serial as i32).to_be_bytes());
        head.extend_from_slice(&1i32.to_be_bytes());
        head.extend_from_slice(&(frame_bytes as i32).to_be_bytes());
        let mut feed = |data: &[u8], flush| {
            let mut used = 0;
            loop {
                wire.reserve(64 << 10);
                let before = z.total_in();
                z.compress_vec(&data[used..], &mut wire, flush).unwrap();
                used += (z.total_in() - before) as usize;
                if used == data.len() && wire.len() < wire.capacity() {
                    break;
                }
            }
        };
        feed(&head, flate2::FlushCompress::None);
        for _ in 0..frame_bytes / zeros.len() {
            feed(&zeros, flate2::FlushCompress::None);
        }
        feed(&[], flate2::FlushCompress::Sync);
        out.push(wire);
    }
    out
}

/// Sends the bomb on one connection; true when the collector closed it before the end.
fn throw_bomb(port: u16, frames: &[Vec<u8>]) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    for f in frames {
        if s.write_all(f).is_err() {
            return true;
        }
    }
    let mut b = [0u8; 64];
    // The collector answers nothing to a bomb: it either closes (0 or a reset) or, if it
    // inflated everything, answers the garbage frame and closes too; only the log and the
    // metric tell which.
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

#[test]
fn zlib_bombs_are_cut_at_max_frame_size_and_a_deflate_sink_still_delivers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (col_port, col_http, edge_port) = (free_port(), free_port(), free_port());
    let col_conf =
        collector_conf(root, "col", col_port) + "col.sources.r1.compression-type = deflate\n";
    let col = HttpAgent::spawn(
        root,
        "col",
        &col_conf,
        vec!["--no-reload-conf".into()],
        col_http,
        Some(col_port),
    );
    let sink = avro_sink("k1", col_port) + "edge.sinks.k1.compression-type = deflate\n";
    let edge_conf = edge_conf(root, edge_port, "k1", &sink);
    let edge = HttpAgent::spawn(
        root,
        "edge",
        &edge_conf,
        vec!["--no-reload-conf".into()],
        free_port(),
        Some(edge_port),
    );
    let (over, under) = (bomb(BOMB_FRAME_BYTES), bomb(SMALL_BOMB_FRAME_BYTES));
    let wire: usize = over.iter().map(Vec::len).sum();
    let before = lines("before", 0..500);
    assert_eq!(netcat_send(edge_port, &before), before.len());
    let mut cut = 0;
    for round in 0..4 {
        // A bomb under the limit is a frame like any other: inflated into its reservation,
        // answered as the garbage call it is; only one over the limit must be cut.
        let over_limit = round % 2 == 0;
        let closed = throw_bomb(col_port, if over_limit { &over } else { &under });
        if over_limit && closed {
            cut += 1;
        }
        let during = lines(&format!("during{round}"), 0..500);
        assert_eq!(netcat_send(edge_port, &during), during.len());
    }
    let mut want = before;
    for round in 0..4 {
        want.extend(lines(&format!("during{round}"), 0..500));
    }
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col, &edge]);
    assert_eq!(got.len(), want.len(), "each line once");
    assert_eq!(
        cut, 2,
        "every bomb over max-frame-size closed by the collector"
    );
    eprintln!("{wire} compressed bytes per bomb of 4 x 80 MiB");
    let log = col.log_text();
    let cuts = log
        .lines()
        .filter(|l| l.contains("max-frame-size") && l.contains("peer=127.0.0.1:"))
        .count();
    assert_eq!(
        cuts, 2,
        "each 80 MiB bomb cut at its header, naming the limit:\n{log}"
    );
    // It was a bomb indeed: 4 frames of 80 MiB from under 1 MiB on the wire.
    assert!(wire < (1 << 20), "{wire} compressed bytes");
}

/// One zlib stream at `level` with a SYNC flush after each write, as Netty's `JZlibEncoder`
/// in Flume's `NettyAvroRpcClient` writes it.
struct FlumeDeflater(flate2::Compress);

impl FlumeDeflater {
    fn write(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 4 + 64);
        let mut used = 0;
        loop {
            out.reserve(64 << 10);
            let before = self.0.total_in();
            self.0
                .compress_vec(&data[used..], &mut out, flate2::FlushCompress::Sync)
                .unwrap();
            used += (self.0.total_in() - before) as usize;
            if used == data.len() && out.len() < out.capacity() {
                return out;
            }
        }
    }
}

/// Inflates the server's side of the connection, whose zlib stream never ends.
struct Inflating {
    s: TcpStream,
    z: flate2::Decompress,
    input: Vec<u8>,
    at: usize,
    out: Vec<u8>,
}

impl Inflating {
    /// Reads exactly `n` inflated bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.out.len() < n {
            if self.at == self.input.len() {
                let mut b = vec![0u8; 16 << 10];
                let got = self.s.read(&mut b).unwrap();
                assert!(got > 0, "the collector closed the connection");
                self.input = b[..got].to_vec();
                self.at = 0;
            }
            let mut chunk = Vec::with_capacity(64 << 10);
            let before = self.z.total_in();
            self.z
                .decompress_vec(
                    &self.input[self.at..],
                    &mut chunk,
                    flate2::FlushDecompress::Sync,
                )
                .unwrap();
            self.at += (self.z.total_in() - before) as usize;
            self.out.extend(chunk);
        }
        self.out.drain(..n).collect()
    }

    /// One avro frame's payload.
    fn frame(&mut self) -> Vec<u8> {
        let head = self.take(8);
        let count = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let mut payload = Vec::new();
        for _ in 0..count {
            let l = self.take(4);
            payload.extend(self.take(i32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize));
        }
        payload
    }
}

#[test]
fn flumes_deflate_client_sending_repetitive_logs_far_past_100_to_1_is_answered_ok_throughout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let port = free_port();
    let conf = collector_conf(root, "col", port) + "col.sources.r1.compression-type = deflate\n";
    let col = HttpAgent::spawn(
        root,
        "col",
        &conf,
        vec!["--no-reload-conf".into()],
        free_port(),
        Some(port),
    );
    let line = b"2026-11-27T04:00:00.000Z INFO  [http-nio-8080-exec-7] c.e.api.ItemsController - \
                 GET /api/v1/items?page=1 200 12ms user=anonymous";
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut z = FlumeDeflater(flate2::Compress::new(flate2::Compression::new(6), true));
    let mut r = Inflating {
        s,
        z: flate2::Decompress::new(true),
        input: Vec::new(),
        at: 0,
        out: Vec::new(),
    };
    let (mut raw, mut wire, mut sent) = (0usize, 0usize, 0usize);
    // 50 calls of 1,000 lines, then 500 calls of 100: 100,000 lines.
    let batches = std::iter::repeat_n(1_000, 50).chain(std::iter::repeat_n(100, 500));
    for (serial, batch) in (0i32..).zip(batches) {
        let events: Vec<(&str, &str, &[u8])> =
            (0..batch).map(|_| ("host", "web-7", &line[..])).collect();
        let frame = plain::frame(serial, &plain::request(serial == 0, "appendBatch", &events));
        let bytes = z.write(&frame);
        raw += frame.len();
        wire += bytes.len();
        w.write_all(&bytes).unwrap();
        let answer = r.frame();
        assert_eq!(answer.last(), Some(&0), "call {serial} answered OK");
        sent += batch;
    }
    let ratio = raw / wire.max(1);
    eprintln!("{raw} bytes sent as {wire} ({ratio}:1)");
    assert!(
        ratio > 100,
        "the data compresses past the old 100:1 cap: {ratio}:1"
    );
    let out = root.join("col/out");
    col.wait_until("every line written", || written(&out).len() == sent);
    assert_eq!(written(&out).len(), 100_000);
}
