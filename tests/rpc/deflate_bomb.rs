//! Deflate amplification charged to the connection (issue 47, item 10), on the real binary: a
//! collector agent's deflate avro port gets a zlib bomb (frames of 48 MiB of zeros, each
//! about 48 KiB on the wire) and cuts the connection once it would inflate more than
//! `max-inflate-ratio` (100:1) beyond the floor: `InflateRatioRefusedCount` rises and the
//! collector's warning names the peer and the ratio. A second agent's avro sink with
//! `compression-type = deflate` delivers all its lines to the same port meanwhile.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::lines_support::netcat_send;
use crate::support::multihop::{avro_sink, collector_conf, edge_conf, lines, wait_for_all};
use crate::support::ports::free_port;

/// Bytes of zeros in one bomb frame (under the default max-frame-size of 64 MiB).
const BOMB_FRAME_BYTES: usize = 48 << 20;
/// Bomb frames sent at most on one connection.
const BOMB_FRAMES: usize = 4;

/// The compressed bytes of `BOMB_FRAMES` avro frames, each one buffer of zeros.
fn bomb() -> Vec<Vec<u8>> {
    let mut z = flate2::Compress::new(flate2::Compression::best(), true);
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    for serial in 0..BOMB_FRAMES {
        let mut wire = Vec::with_capacity(128 << 10);
        let mut head = Vec::new();
        head.extend_from_slice(&(serial as i32).to_be_bytes());
        head.extend_from_slice(&1i32.to_be_bytes());
        head.extend_from_slice(&(BOMB_FRAME_BYTES as i32).to_be_bytes());
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
        for _ in 0..BOMB_FRAME_BYTES / zeros.len() {
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
fn a_zlib_bomb_is_cut_off_by_the_inflation_cap_and_a_deflate_sink_still_delivers() {
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
    let frames = bomb();
    let wire: usize = frames.iter().map(Vec::len).sum();
    let before = lines("before", 0..500);
    assert_eq!(netcat_send(edge_port, &before), before.len());
    let mut cut = 0;
    for round in 0..3 {
        if throw_bomb(col_port, &frames) {
            cut += 1;
        }
        let during = lines(&format!("during{round}"), 0..500);
        assert_eq!(netcat_send(edge_port, &during), during.len());
    }
    let mut want = before;
    for round in 0..3 {
        want.extend(lines(&format!("during{round}"), 0..500));
    }
    let got = wait_for_all(&[root.join("col/out")], &want, &[&col, &edge]);
    assert_eq!(got.len(), want.len(), "each line once");
    assert_eq!(cut, 3, "every bomb connection closed by the collector");
    let refused = counter(col_http, "SOURCE.r1", "InflateRatioRefusedCount");
    eprintln!("{wire} compressed bytes per bomb; {refused} bomb connections refused");
    assert_eq!(refused, 3, "{}", col.log_text());
    let log = col.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("max-inflate-ratio"))
        .unwrap_or_else(|| panic!("no line names max-inflate-ratio:\n{log}"));
    assert!(line.contains("peer=127.0.0.1:"), "{line}");
    assert!(line.contains("at most 100:1"), "{line}");
    // It was a bomb indeed: 4 frames of 48 MiB from under 1 MiB on the wire.
    assert!(wire < (1 << 20), "{wire} compressed bytes");
}
