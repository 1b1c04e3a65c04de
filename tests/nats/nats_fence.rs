//! Two nats sinks on one file channel: they take one origin's events in turns, so each
//! batch's progress record races the other sink's on the same subject and the fence
//! (`Nats-Expected-Last-Subject-Sequence`) refuses the loser, which reads the record back and
//! sends again. Every line is stored once; the records keep the gaps apart.

use crate::edge::*;
use crate::support::nats_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

#[test]
fn two_sinks_sharing_one_origin_fence_each_other_and_store_every_line_once() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = stream(c, &unique("FENCE"), 120.0);
    let port = free_port();
    let mut conf = edge_conf(tmp.path(), &c.url(), port, &s, "batchSize = 50");
    conf = conf.replace("e.sinks = k1\n", "e.sinks = k1 k2\n");
    for l in conf
        .clone()
        .lines()
        .filter(|l| l.starts_with("e.sinks.k1."))
    {
        conf.push_str(&l.replace("e.sinks.k1.", "e.sinks.k2."));
        conf.push('\n');
    }
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let want = two_services(0, 3000);
    send(port, &want);
    let got = wait_stored(c, &s, want.len(), &[&agent]);
    // Two sinks interleave batches, so order per subject is not kept: check once-ness only.
    let mut count = std::collections::BTreeMap::new();
    for m in &got {
        *count.entry(m.data.as_str()).or_insert(0) += 1;
    }
    assert!(count.values().all(|n| *n == 1), "a line stored twice");
    assert_eq!(count.len(), want.len(), "every line stored");
    assert!(got.iter().all(|m| m.header("Nats-Msg-Id").is_some()));
    let (k1, k2) = (
        agent.counter("SINK.k1", "EventDrainSuccessCount"),
        agent.counter("SINK.k2", "EventDrainSuccessCount"),
    );
    let log = agent.proc.log_text();
    let fenced = log.matches("a progress record changed").count();
    // Which sink delivered how much, and how often the fence refused one, is timing.
    eprintln!("k1 {k1}, k2 {k2}, refused by the fence and sent again {fenced} times");
    assert_eq!(
        k1 + k2,
        want.len() as u64,
        "the sinks' counts add up:\n{log}"
    );
}
