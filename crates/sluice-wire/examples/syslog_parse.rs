//! Parses W1's syslog lines (`/work/shared/peers/run.py`, `syslog_line`: RFC 3164, 200 B)
//! and prints the time per frame; a micro figure for docs/performance.md, not a test.
//!
//! `cargo run --release --offline -p sluice-wire --example syslog_parse -- [frames] [rounds]`
//! (default 1,000,000 frames, 5 rounds; prints each round's ns/frame and their median).

use std::time::Instant;

use sluice_wire::syslog::parse::{parse, Clock, KeepFields, ParseOptions};

#[path = "../src/syslog/parse/w1_line.rs"]
mod w1_line;
use w1_line::w1_line;

fn main() {
    let mut args = std::env::args().skip(1);
    let frames: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    // A few thousand distinct lines, cycled: the parser's cost, not the generator's.
    let lines: Vec<Vec<u8>> = (0..4096).map(|i| w1_line(i, 200)).collect();
    let opts = ParseOptions {
        keep: KeepFields::parse("none"),
    };
    let clock = Clock::system();
    let mut per_frame = Vec::new();
    for round in 0..rounds {
        let mut bytes = 0usize;
        let t = Instant::now();
        for (i, line) in (0..frames).zip(lines.iter().cycle()) {
            let e = parse(std::hint::black_box(line), i % 1000 == 0, &opts, &clock);
            bytes += e.body.len() + e.headers.len();
        }
        let ns = t.elapsed().as_nanos() as f64 / frames as f64;
        println!("round {round}: {ns:.1} ns/frame ({bytes} bytes out)");
        per_frame.push(ns);
    }
    per_frame.sort_by(f64::total_cmp);
    if let Some(median) = per_frame.get(per_frame.len() / 2) {
        println!("median {median:.1} ns/frame over {rounds} rounds of {frames} frames");
    }
}
