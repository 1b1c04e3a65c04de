//! What the nats tests share: an edge agent (netcat -> file channel -> nats sink into a
//! templated subject `<stream>.logs.%{svc}`, `svc` taken from the line by a regex
//! interceptor), the lines it is sent, and the checks on what the stream holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::agent_proc::{logs_of, HttpAgent};
use crate::support::lines_support::netcat_send;
use crate::support::nats_support::{Cluster, Stored};
use crate::support::ports::free_port;

/// Longest wait for a stream to hold every line.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(90);

/// A stream for one test: its name, its subjects (`<name>.logs.>` and the sink's progress
/// records), created with a `dup_s`-second duplicate window.
pub fn stream(c: &Cluster, name: &str, dup_s: f64) -> String {
    let logs = format!("{name}.logs.>");
    let progress = format!("sluice.progress.{name}.*");
    c.create_stream(name, &[&logs, &progress], dup_s);
    name.to_owned()
}

/// The edge agent's configuration: netcat on `port` into a file channel under `root`, the
/// nats sink into `stream` (`extra` lines appended to the sink's keys).
pub fn edge_conf(root: &Path, url: &str, port: u16, stream: &str, extra: &str) -> String {
    let mut s = format!(
        "e.sources = r1\ne.channels = c1\ne.sinks = k1\n\
         e.sources.r1.type = netcat\ne.sources.r1.bind = 127.0.0.1\n\
         e.sources.r1.port = {port}\ne.sources.r1.channels = c1\n\
         e.sources.r1.interceptors = i1\ne.sources.r1.interceptors.i1.type = regex_extractor\n\
         e.sources.r1.interceptors.i1.regex = ^([a-z]+)-\n\
         e.sources.r1.interceptors.i1.serializers = s1\n\
         e.sources.r1.interceptors.i1.serializers.s1.name = svc\n\
         e.channels.c1.type = file\ne.channels.c1.checkpointDir = {r}/ck\n\
         e.channels.c1.dataDirs = {r}/data\ne.channels.c1.minimumRequiredSpace = 1048576\n\
         e.sinks.k1.type = nats\ne.sinks.k1.channel = c1\ne.sinks.k1.url = {url}\n\
         e.sinks.k1.subject = {stream}.logs.%{{svc}}\ne.sinks.k1.stream = {stream}\n\
         e.sinks.k1.batchSize = 100\n",
        r = root.display()
    );
    for l in extra.lines() {
        s.push_str(&format!("e.sinks.k1.{l}\n"));
    }
    s
}

/// Starts the edge agent of `conf` (named `e`) with `env`, waiting for its netcat port.
pub fn start_edge(dir: &Path, conf: &str, port: u16, env: &[(&str, &str)]) -> HttpAgent {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let args = vec!["--no-reload-conf".to_owned()];
    HttpAgent::spawn_env(dir, "e", conf, args, env, free_port(), Some(port))
}

/// `n` lines, `web-…` and `db-…` alternating (two subjects), numbered from `from`.
pub fn two_services(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            let svc = if i % 2 == 0 { "web" } else { "db" };
            format!("{svc}-{i:06}")
        })
        .collect()
}

/// Sends `lines` in chunks of 100; panics unless every line is answered `OK`.
pub fn send(port: u16, lines: &[String]) {
    for chunk in lines.chunks(100) {
        assert_eq!(netcat_send(port, chunk), chunk.len(), "netcat on {port}");
    }
}

/// The stream's event messages (not the progress records) once it holds at least `n`.
pub fn wait_stored(c: &Cluster, stream: &str, n: usize, agents: &[&HttpAgent]) -> Vec<Stored> {
    let end = Instant::now() + DELIVERY_WAIT;
    loop {
        // None while the cluster elects a leader after a kill.
        let got = c.try_dump(stream, &format!("{stream}.logs.>"));
        let have = got.as_ref().map_or(0, Vec::len);
        if let Some(got) = got.filter(|g| g.len() >= n) {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{stream} holds {have} of {n} lines after {DELIVERY_WAIT:?}\n{}",
            logs_of(agents.iter().map(|a| &a.proc))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Asserts that `got` holds every line of `want` exactly once, in order within each subject,
/// each with a `Nats-Msg-Id` of its own and without the `sluiceId` header.
pub fn assert_exactly_once(got: &[Stored], want: &[String]) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for m in got {
        *count.entry(m.data.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "{} lines stored twice, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let missing: Vec<_> = want
        .iter()
        .filter(|l| !count.contains_key(l.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lines missing, first {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(got.len(), want.len(), "stored lines that were never sent");
    let ids: BTreeSet<&str> = got.iter().filter_map(|m| m.header("Nats-Msg-Id")).collect();
    assert_eq!(
        ids.len(),
        got.len(),
        "every message has a Nats-Msg-Id of its own"
    );
    assert!(got.iter().all(|m| m.header("sluiceId").is_none()));
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for m in got {
        let svc = m.data.split('-').next().unwrap();
        assert!(m.subject.ends_with(&format!(".logs.{svc}")), "{m:?}");
        assert_eq!(m.header("svc"), Some(svc), "{m:?}");
        if let Some(prev) = last.insert(m.subject.as_str(), m.data.as_str()) {
            assert!(
                prev < m.data.as_str(),
                "{} after {prev} on {}",
                m.data,
                m.subject
            );
        }
    }
}
