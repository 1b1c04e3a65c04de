//! What the Parquet benches share (`tests/files/parquet_bench.rs`,
//! `tests/hdfs/s3_parquet_bench.rs`): an agent fed calls until its sink drained them, and the
//! median of the rounds.

use std::path::Path;
use std::time::{Duration, Instant};

use super::events::{send, Ev};
use crate::support::agent_proc::{counter, HttpAgent};

/// Starts agent `a1` on `text` (its avro source on `port`, monitoring on `http`), sends it
/// `calls` and waits (at most 300 s) until sink `k1` drained `events`: the agent, and when
/// the first call was sent (a bench's time runs from it).
pub fn send_until_drained(
    root: &Path,
    text: &str,
    (port, http): (u16, u16),
    calls: &[Vec<Ev>],
    events: usize,
) -> (HttpAgent, Instant) {
    let agent = HttpAgent::spawn(
        root,
        "a1",
        text,
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let start = Instant::now();
    assert_eq!(send(port, calls), calls.len());
    let end = Instant::now() + Duration::from_secs(300);
    while counter(http, "SINK.k1", "EventDrainSuccessCount") < events as u64 {
        assert!(Instant::now() < end, "not drained");
        std::thread::sleep(Duration::from_millis(20));
    }
    (agent, start)
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
