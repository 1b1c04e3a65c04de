//! The nats source: a stream pre-filled with 5,000 messages read by a durable pull consumer
//! into a file channel and a file_roll sink, the agent killed with kill -9 twice while it
//! consumes (once held right after a channel commit, before the acknowledgements: the
//! messages come again and the channel drops them): every message exactly once in the output,
//! with explicit acknowledgements and with `ackPolicy = all` (where the restarted source must
//! hold its cumulative acknowledgement until the killed one's messages come again).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::edge::DELIVERY_WAIT;
use crate::support::agent_proc::{logs_of, HttpAgent};
use crate::support::lines_support::written;
use crate::support::nats_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

pub(crate) fn collector_conf(root: &Path, url: &str, stream: &str, extra: &str) -> String {
    format!(
        "c.sources = r1\nc.channels = c1\nc.sinks = k1\n\
         c.sources.r1.type = nats\nc.sources.r1.channels = c1\nc.sources.r1.url = {url}\n\
         c.sources.r1.stream = {stream}\nc.sources.r1.consumer = collector\n\
         c.sources.r1.subject = {stream}.in.>\nc.sources.r1.batchSize = 100\n\
         c.sources.r1.ackWait = 2000\n{extra}\
         c.channels.c1.type = file\nc.channels.c1.checkpointDir = {r}/ck\n\
         c.channels.c1.dataDirs = {r}/data\nc.channels.c1.minimumRequiredSpace = 1048576\n\
         c.sinks.k1.type = file_roll\nc.sinks.k1.channel = c1\n\
         c.sinks.k1.sink.directory = {r}/out\nc.sinks.k1.sink.rollInterval = 0\n",
        r = root.display()
    )
}

pub(crate) fn start(dir: &Path, conf: &str, env: &[(&str, &str)]) -> HttpAgent {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let args = vec!["--no-reload-conf".to_owned()];
    HttpAgent::spawn_env(dir, "c", conf, args, env, free_port(), None)
}

/// Waits until `out` holds at least `n` lines.
fn wait_lines(out: &Path, n: usize, agent: &HttpAgent) {
    let end = Instant::now() + DELIVERY_WAIT;
    while written(out).len() < n {
        assert!(
            Instant::now() < end,
            "{} of {n} lines after {DELIVERY_WAIT:?}\n{}",
            written(out).len(),
            logs_of([&agent.proc])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 5,000 messages, the collector (source keys `extra`) killed twice mid-stream: each
/// message once in the output. Returns the cluster's URL and the stream.
fn killed_twice_outputs_every_message_once(extra: &str) -> Option<(String, String)> {
    let c = cluster()?;
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let s = unique("SRC");
    let subjects = format!("{s}.in.>");
    c.create_stream(&s, &[&subjects], 120.0);
    c.fill(&format!("{s}.in.a"), 5000);
    let conf = collector_conf(tmp.path(), &c.url(), &s, extra);
    let out = tmp.path().join("out");
    let mut agent = start(
        tmp.path(),
        &conf,
        &[("SLUICE_FAILPOINT", "nats-source-channel-committed:5")],
    );
    agent
        .proc
        .wait_log("failpoint nats-source-channel-committed held");
    agent.proc.kill9();
    let mut agent = start(tmp.path(), &conf, &[]);
    wait_lines(&out, 2500, &agent);
    agent.proc.kill9();
    agent.restart_on(None);
    wait_lines(&out, 5000, &agent);
    std::thread::sleep(Duration::from_secs(3));
    let got = written(&out);
    let unique: std::collections::BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), 5000, "every message arrived");
    assert_eq!(got.len(), 5000, "no message arrived twice");
    assert!(unique.contains(&"line-0".to_owned()) && unique.contains(&"line-4999".to_owned()));
    Some((c.url(), s))
}

#[test]
fn a_consumer_killed_twice_mid_stream_outputs_every_message_once() {
    killed_twice_outputs_every_message_once("");
}

#[test]
fn a_cumulatively_acknowledging_consumer_killed_twice_outputs_every_message_once() {
    let Some((url, stream)) =
        killed_twice_outputs_every_message_once("c.sources.r1.ackPolicy = all\n")
    else {
        return;
    };
    // The consumer acknowledges cumulatively now: a source that says explicit is refused,
    // naming the consumer and both policies.
    let tmp = tempfile::tempdir().unwrap();
    let agent = start(
        tmp.path(),
        &collector_conf(tmp.path(), &url, &stream, ""),
        &[],
    );
    agent
        .proc
        .wait_log("has ack policy All and ackPolicy says Explicit");
    assert!(agent.proc.log_text().contains(&stream));
}
