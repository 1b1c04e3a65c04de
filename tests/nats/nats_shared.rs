//! Two collectors on one `ackPolicy = all` consumer (which docs/nats.md says not to do): one
//! is held right after a channel commit, with the next batch fetched and not committed, then
//! killed with kill -9. The other's cumulative acknowledgements must not cover the killed
//! one's messages: it sees deliveries skip consumer sequences, says so, and acknowledges only
//! while every unacknowledged message is its own, so the killed one's messages come again
//! after `ackWait` and every message is in one output or the other.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::edge::DELIVERY_WAIT;
use crate::nats_source::{collector_conf, start};
use crate::support::agent_proc::{logs_of, HttpAgent};
use crate::support::lines_support::written;
use crate::support::nats_support::{cluster, shared_turn, unique};

const MESSAGES: usize = 20_000;

/// The distinct lines of both outputs.
fn union(a: &Path, b: &Path) -> BTreeSet<String> {
    written(a).into_iter().chain(written(b)).collect()
}

/// Waits until both outputs together hold every message.
fn wait_union(a: &Path, b: &Path, agents: [&HttpAgent; 2]) {
    let end = Instant::now() + DELIVERY_WAIT;
    while union(a, b).len() < MESSAGES {
        assert!(
            Instant::now() < end,
            "{} of {MESSAGES} distinct lines after {DELIVERY_WAIT:?}\n{}",
            union(a, b).len(),
            logs_of([&agents[0].proc, &agents[1].proc])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_collector_sharing_a_cumulative_consumer_never_acknowledges_a_killed_ones_messages() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let (ta, tb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = unique("SHARED");
    c.create_stream(&s, &[&format!("{s}.in.>")], 120.0);
    c.fill(&format!("{s}.in.a"), MESSAGES);
    let all = "c.sources.r1.ackPolicy = all\n";
    // b first, alone on the consumer (so clean), in small batches so that it is still reading
    // when a joins; a is held after its third commit, its next batch fetched.
    let small = format!("{all}c.sources.r1.batchSize = 10\n");
    let b = start(
        tb.path(),
        &collector_conf(tb.path(), &c.url(), &s, &small),
        &[],
    );
    let (out_a, out_b) = (ta.path().join("out"), tb.path().join("out"));
    let end = Instant::now() + DELIVERY_WAIT;
    while written(&out_b).len() < 200 {
        assert!(
            Instant::now() < end,
            "b never started:\n{}",
            b.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let held = [("SLUICE_FAILPOINT", "nats-source-channel-committed:3")];
    let mut a = start(
        ta.path(),
        &collector_conf(ta.path(), &c.url(), &s, all),
        &held,
    );
    a.proc
        .wait_log("failpoint nats-source-channel-committed held");
    // Held after its third commit, with its next batch fetched: both unacknowledged.
    a.proc.kill9();
    wait_union(&out_a, &out_b, [&a, &b]);
    let got = union(&out_a, &out_b);
    assert!(got.contains("line-0") && got.contains(&format!("line-{}", MESSAGES - 1)));
    assert!(
        b.proc
            .log_text()
            .contains("deliveries skip consumer sequences"),
        "the surviving collector named the shared consumer:\n{}",
        b.proc.log_text()
    );
}
