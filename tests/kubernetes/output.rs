//! The agent's configuration for these tests (kubernetes source → file channel → file_roll
//! with Flume's `header_and_text`) and what file_roll wrote, parsed back into events.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::node::Want;
use crate::support::agent_proc::Proc;

/// One event file_roll wrote: headers and body.
#[derive(Debug, Clone)]
pub struct Got {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// The agent's configuration: `extra` are more `a1.sources.r1.*` keys (without the prefix);
/// without an `apiServer` among them, `apiServer = none` (the path's metadata alone).
pub fn config(root: &Path, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = kubernetes\na1.sources.r1.channels = c1\n\
         a1.sources.r1.podLogsDir = {r}/pods\n\
         a1.sources.r1.positionFile = {r}/state/positions.json\n\
         a1.sources.r1.batchSize = 200\n",
        r = root.display()
    );
    if !extra.iter().any(|(k, _)| *k == "apiServer") {
        s.push_str("a1.sources.r1.apiServer = none\n");
    }
    for (k, v) in extra {
        s.push_str(&format!("a1.sources.r1.{k} = {v}\n"));
    }
    s.push_str(&format!(
        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.channels.c1.capacity = 1000000\na1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.serializer = header_and_text\na1.sinks.k1.sink.batchSize = 200\n",
        r = root.display()
    ));
    s
}

/// Every complete event file_roll wrote under `root/out` (a torn last line left out).
pub fn written(root: &Path) -> Vec<Got> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root.join("out")) else {
        return out;
    };
    let mut paths: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for p in paths {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
        out.extend(complete.lines().filter_map(parse));
    }
    out
}

/// `{k=v, k=v} body`.
fn parse(line: &str) -> Option<Got> {
    let rest = line.strip_prefix('{')?;
    let (h, body) = rest
        .split_once("} ")
        .or_else(|| Some((rest.strip_suffix('}')?, "")))?;
    let headers = h
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Some(Got {
        headers,
        body: body.to_owned(),
    })
}

/// [`wait_for`] `n` events, then half a second more for anything sent twice (or more) to
/// show: every event written by then.
pub fn settled(root: &Path, n: usize, agent: &Proc) -> Vec<Got> {
    let got = wait_for(root, n, agent);
    std::thread::sleep(Duration::from_millis(500));
    let again = written(root);
    if again.len() > got.len() {
        again
    } else {
        got
    }
}

/// Waits (bounded) until the agent wrote at least `n` events.
pub fn caught_up(root: &Path, n: usize) {
    let end = Instant::now() + Duration::from_secs(30);
    while written(root).len() < n && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until file_roll wrote at least `n` events (or a minute passed); what it wrote.
pub fn wait_for(root: &Path, n: usize, agent: &Proc) -> Vec<Got> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let got = written(root);
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{} of {n} events written; log:\n{}",
            got.len(),
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asserts every wanted message was written once, with its metadata exact; the count of
/// events checked.
pub fn assert_each_once(got: &[Got], wants: &[Want]) -> usize {
    let missing = assert_at_most_once(got, wants);
    for w in missing.iter().take(3) {
        eprintln!("missing: {:.80}", w.body);
    }
    assert_eq!(
        missing.len(),
        0,
        "{} of {} messages missing",
        missing.len(),
        wants.len()
    );
    wants.len()
}

/// Asserts no message was written twice, each written one has its metadata exact, and
/// nothing was written that was not wanted; the messages missing.
pub fn assert_at_most_once<'a>(got: &[Got], wants: &'a [Want]) -> Vec<&'a Want> {
    let mut by_body: BTreeMap<&str, Vec<&Got>> = BTreeMap::new();
    for g in got {
        by_body.entry(g.body.as_str()).or_default().push(g);
    }
    let mut missing = Vec::new();
    for w in wants {
        let Some(gs) = by_body.get(w.body.as_str()) else {
            missing.push(w);
            continue;
        };
        assert_eq!(gs.len(), 1, "written {} times: {:.80}", gs.len(), w.body);
        let h = &gs[0].headers;
        let expect = [
            ("k8s.namespace.name", w.namespace.clone()),
            ("k8s.pod.name", w.pod.clone()),
            ("k8s.pod.uid", w.uid.clone()),
            ("k8s.container.name", w.container.clone()),
            ("k8s.container.restart_count", w.restart.to_string()),
            ("log.iostream", w.stream.to_owned()),
            ("timestamp", w.time_ms.to_string()),
        ];
        for (k, v) in expect {
            assert_eq!(h.get(k), Some(&v), "header {k} of {:.80}: {h:?}", w.body);
        }
        assert!(
            !h.contains_key("log.parse_error") && !h.contains_key("log.cut"),
            "{h:?}"
        );
    }
    assert_eq!(
        got.len() + missing.len(),
        wants.len(),
        "events written beyond the messages"
    );
    missing
}
