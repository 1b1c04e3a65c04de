//! A node in a directory: four containers in three namespaces, CRI and json-file, long lines
//! split into 16 KiB partial lines, stdout and stderr interleaved, kubelet's rotation at a
//! small `containerLogMaxSize` with the older rotated files gzipped, a container restart and
//! a pod deleted with its directory. Every message comes out once, its body and metadata
//! exact.

use std::time::{Duration, Instant};

use crate::node::{message, Container, Format};
use crate::output::{assert_each_once, config, settled, wait_for, written};
use crate::support::file_sources_support::start_agent;

/// Messages each container writes per round.
const PER_ROUND: usize = 100;
/// Rounds.
const ROUNDS: usize = 12;

/// Writes one round into `c`: short lines on both streams, and every 40th message 40 KiB
/// (three partial lines).
fn round(c: &mut Container, r: usize) {
    for i in 0..PER_ROUND {
        let tag = format!("{}-{}-r{r}-m{i}", c.pod, c.name);
        let len = if i % 40 == 7 {
            40_000
        } else {
            60 + (i * 37) % 400
        };
        let stream = if i % 3 == 0 { "stderr" } else { "stdout" };
        c.write(&message(&tag, len), stream);
    }
}

/// Waits (bounded) until the agent is at most `lag` events behind `written_total`.
fn pace(root: &std::path::Path, written_total: usize, lag: usize) {
    let end = Instant::now() + Duration::from_secs(30);
    while written(root).len() + lag < written_total && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_container_line_of_a_rotating_node_comes_out_once_with_its_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let mut cs = [
        Container::new(&pods, "default", "web-1", "web", Format::Cri),
        Container::new(&pods, "default", "web-1", "istio-proxy", Format::Json),
        Container::new(&pods, "kube-system", "coredns-1", "coredns", Format::Cri),
    ];
    let mut job = Container::new(&pods, "batch", "job-1", "worker", Format::Json);
    let conf = root.join("agent.properties");
    std::fs::write(&conf, config(root, &[])).unwrap();
    let mut agent = start_agent(root, &conf, 0);
    let mut total = 0;
    for r in 0..ROUNDS {
        if r == ROUNDS / 2 {
            // The web container restarts: its next lines go to 1.log.
            cs[0].restart();
        }
        for c in cs.iter_mut() {
            round(c, r);
            total += PER_ROUND;
        }
        pace(root, total, PER_ROUND);
    }
    // The job writes, is seen, writes its last lines and its pod is deleted at once.
    for i in 0..50 {
        job.write(&message(&format!("job-1-m{i}"), 80), "stdout");
    }
    wait_for(root, total + 1, &agent);
    for i in 50..80 {
        job.write(&message(&format!("job-1-m{i}"), 80), "stderr");
    }
    std::fs::remove_dir_all(job.pod_dir()).unwrap();
    let mut wants: Vec<_> = cs.iter().flat_map(|c| c.wants.clone()).collect();
    wants.extend(job.wants.clone());
    let got = settled(root, wants.len(), &agent);
    let gz = cs[0].gzipped();
    assert!(gz > 0, "kubelet's rotation gzipped files");
    assert!(
        got.iter().all(|g| !g.headers.contains_key("log.file.path")),
        "no file path without fileHeader"
    );
    let n = assert_each_once(&got, &wants);
    agent.terminate();
    eprintln!("node tree: {n} messages from 4 containers, each once, metadata exact");
}
