//! A file channel's byte bound on the real binary: a `seq` source fills a file channel with
//! `capacityBytes` and no sink; its puts are refused at the bound (`ChannelFullBytesCount`
//! rises, the source backs off and retries) while the files under the channel's directories
//! stay within 1.25x the bound; after a restart with a sink and no source, the sink delivers
//! every event the channel held, each once and in order.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::alarm_support::{free_port, written, HttpAgent, WAIT};

/// `capacityBytes` of the channel: 16 MiB.
const BOUND_BYTES: u64 = 16 << 20;
/// The target: peak disk at most 1.25x the bound.
const PEAK_RATIO_MAX: f64 = 1.25;
/// More events than fit in the bound (about 70,000 of them do).
const TOTAL_EVENTS: u64 = 400_000;

fn channel_keys(root: &Path) -> String {
    format!(
        "a1.channels = c1\n\
         a1.channels.c1.type = file\n\
         a1.channels.c1.checkpointDir = {}\n\
         a1.channels.c1.dataDirs = {}\n\
         a1.channels.c1.capacityBytes = 16m\n\
         a1.channels.c1.keep-alive = 1\n",
        root.join("ckpt").display(),
        root.join("data").display()
    )
}

fn filling(root: &Path) -> String {
    format!(
        "a1.sources = r1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = {TOTAL_EVENTS}\n\
         a1.sources.r1.batchSize = 500\na1.sources.r1.channels = c1\n{}",
        channel_keys(root)
    )
}

fn draining(root: &Path) -> String {
    format!(
        "a1.sinks = k1\na1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.batchSize = 1000\n{}",
        root.join("out").display(),
        channel_keys(root)
    )
}

/// Bytes of the files directly under the channel's directories.
fn disk_bytes(root: &Path) -> u64 {
    ["ckpt", "data"]
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

fn gauge(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["CHANNEL.c1"][key]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Starts the filling agent, waits for refusals at the bound and watches the disk meanwhile;
/// returns the events the channel holds when it is stopped.
fn fill_to_the_bound(root: &Path) -> u64 {
    let http = free_port();
    let mut agent = HttpAgent::spawn(root, "a1", &filling(root), Vec::new(), http, Some(http));
    let mut peak = 0;
    let end = Instant::now() + WAIT;
    while gauge(&agent, "ChannelFullBytesCount") < 3 {
        peak = peak.max(disk_bytes(root));
        assert!(
            Instant::now() < end,
            "no put refused at capacityBytes; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The source keeps retrying at the bound for a while.
    for _ in 0..50 {
        peak = peak.max(disk_bytes(root));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(gauge(&agent, "ChannelCapacityBytes"), BOUND_BYTES);
    let counted = gauge(&agent, "ChannelSizeBytes");
    assert!(counted > BOUND_BYTES / 2, "ChannelSizeBytes {counted}");
    let held = gauge(&agent, "ChannelSize");
    assert!(held > 10_000 && held < TOTAL_EVENTS, "{held} events held");
    let ratio = peak as f64 / BOUND_BYTES as f64;
    eprintln!("peak {peak} bytes under the channel's dirs = {ratio:.3}x capacityBytes");
    assert!(ratio <= PEAK_RATIO_MAX, "peak {ratio:.2}x the bound");
    agent.stop();
    // A lower bound: the source may have put a batch more before it stopped.
    held
}

#[test]
fn a_bounded_file_channel_refuses_puts_at_its_byte_bound_and_a_sink_drains_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("out")).unwrap();
    let held = fill_to_the_bound(root);
    let http = free_port();
    let agent = HttpAgent::spawn(root, "a1", &draining(root), Vec::new(), http, Some(http));
    let end = Instant::now() + WAIT;
    loop {
        let lines = written(&root.join("out"));
        let size = gauge(&agent, "ChannelSize");
        if size == 0 && lines.len() as u64 >= held {
            let want: Vec<String> = (0..lines.len() as u64).map(|i| i.to_string()).collect();
            assert_eq!(lines, want, "not every event once and in order");
            break;
        }
        assert!(
            Instant::now() < end,
            "{} of at least {held} events delivered; log:\n{}",
            lines.len(),
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
