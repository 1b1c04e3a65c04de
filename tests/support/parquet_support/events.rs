//! The events the `parquet` tests send (file_roll's, and hdfs's and s3's in the `hdfs`
//! binary) through an avro source, and what `read.py` must read back for them.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::row;
use crate::support::avro_plain::{frame, long, read_frame, string, FLUME_MD5};

/// An event: its headers and body.
pub type Ev = (Vec<(String, String)>, Vec<u8>);

/// An `appendBatch` request of events with any headers (the handshake on the first call).
fn append_batch(handshake: bool, events: &[Ev]) -> Vec<u8> {
    let mut p = Vec::new();
    if handshake {
        p.extend_from_slice(&FLUME_MD5);
        p.push(0);
        p.extend_from_slice(&FLUME_MD5);
        p.push(0);
    }
    p.push(0);
    string(&mut p, b"appendBatch");
    long(&mut p, events.len() as i64);
    for (headers, body) in events {
        if !headers.is_empty() {
            long(&mut p, headers.len() as i64);
            for (k, v) in headers {
                string(&mut p, k.as_bytes());
                string(&mut p, v.as_bytes());
            }
        }
        p.push(0);
        string(&mut p, body);
    }
    p.push(0);
    p
}

/// Sends `calls` on one connection; the calls answered (acknowledged).
pub fn send(port: u16, calls: &[Vec<Ev>]) -> usize {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for (serial, call) in calls.iter().enumerate() {
        let payload = append_batch(serial == 0, call);
        if s.write_all(&frame(serial as i32, &payload)).is_err() || read_frame(&mut s).is_err() {
            return serial;
        }
    }
    calls.len()
}

/// Event `i` of the 100,000: UTF-8 headers (one empty), a timestamp (not a number every
/// 1000th, missing every 1000th + 1), and a UTF-8 body, an empty one every 100th or a
/// 1 MiB binary one every 20,000th.
pub fn event(i: usize) -> (Ev, Value) {
    let ts = 1_700_000_000_000i64 + i as i64;
    let mut headers = vec![("seq".to_owned(), i.to_string())];
    match i % 1000 {
        7 => headers.push(("timestamp".to_owned(), "not-a-number".to_owned())),
        8 => {}
        _ => headers.push(("timestamp".to_owned(), ts.to_string())),
    }
    if i % 3 == 0 {
        headers.push((
            "utf".to_owned(),
            format!("h\u{e9}llo \u{2713} \u{65e5}\u{672c} {i}"),
        ));
    }
    if i % 5 == 0 {
        headers.push(("empty".to_owned(), String::new()));
    }
    let body: Vec<u8> = if i % 20_000 == 0 {
        (0..1usize << 20).map(|j| (j * 31 + i) as u8).collect()
    } else if i % 100 == 1 {
        Vec::new()
    } else {
        format!("event {i} \u{fc}n\u{ef}c\u{f6}d\u{e9} \u{2713}").into_bytes()
    };
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let want_ts = (!matches!(i % 1000, 7 | 8)).then_some(ts);
    let want = row(want_ts, &body, &pairs, &[]);
    ((headers, body), want)
}

/// The `seq` header of a row summary.
pub fn seq_of(r: &Value) -> Option<u64> {
    r[3].as_array()?
        .iter()
        .find(|p| p[0] == "seq")
        .and_then(|p| p[1].as_str()?.parse().ok())
}

/// A call of 50 events numbered from `from` (their `seq` header).
pub fn numbered(from: u64) -> Vec<Ev> {
    (from..from + 50)
        .map(|k| {
            (
                vec![("seq".to_owned(), k.to_string())],
                format!("k-{k}").into_bytes(),
            )
        })
        .collect()
}

/// A log line of about 1 KiB shaped like the peers' (an access log with a JSON tail).
pub fn log_line(i: usize) -> Vec<u8> {
    const PATHS: [&str; 6] = [
        "/api/v1/items",
        "/api/v1/users",
        "/login",
        "/static/app.js",
        "/api/v2/search",
        "/health",
    ];
    const AGENTS: [&str; 3] = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "curl/8.5.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    ];
    let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut s = format!(
        "2026-11-29T09:{:02}:{:02}.{:03}Z web-{:02} nginx[{}]: 10.{}.{}.{} - - \"GET {}/{} HTTP/1.1\" {} {} \"-\" \"{}\" rt={}.{:03} trace={:016x} ",
        (i / 60_000) % 60, (i / 1000) % 60, i % 1000, h % 40, 1000 + h % 7, h % 256, (h >> 8) % 256, (h >> 16) % 256,
        PATHS[(h % 6) as usize], h % 100_000, [200, 200, 200, 304, 404, 500][(h >> 24) as usize % 6],
        (h >> 32) % 50_000, AGENTS[(h >> 40) as usize % 3], (h >> 44) % 3, (h >> 48) % 1000, h
    );
    s.push_str(&format!(
        "{{\"user\":\"u{}\",\"session\":\"{:x}\",\"items\":[",
        h % 5000,
        h >> 20
    ));
    let mut k = 0u64;
    while s.len() < 1000 {
        s.push_str(&format!(
            "{{\"id\":{},\"qty\":{}}},",
            (h >> (k % 40)) % 10_000,
            k % 9
        ));
        k += 1;
    }
    s.truncate(1022);
    s.push_str("]}");
    s.into_bytes()
}

/// `events` [`log_line`]s with a `timestamp` and a `host` header, in calls of `per_call`.
pub fn log_calls(events: usize, per_call: usize) -> Vec<Vec<Ev>> {
    (0..events / per_call)
        .map(|c| {
            (c * per_call..(c + 1) * per_call)
                .map(|i| {
                    (
                        vec![
                            (
                                "timestamp".to_owned(),
                                (1_764_400_000_000u64 + i as u64).to_string(),
                            ),
                            ("host".to_owned(), format!("web-{:02}", i % 40)),
                        ],
                        log_line(i),
                    )
                })
                .collect()
        })
        .collect()
}
