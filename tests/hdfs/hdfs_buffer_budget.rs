//! Issue 47, item 7: buckets chosen by a header value share one byte budget,
//! `hdfs.maxBufferBytes`. 60 buckets are written in batches of up to 1,000 lines of 400-odd
//! bytes (about six times the 64 KiB budget per batch): the sink's `BufferedBytesPeak` gauge
//! stays within the budget, and every line arrives exactly once.

use crate::support::lines_support::netcat_send;
use crate::support::ports::free_port;
use crate::support::status_support::{start_agent, HttpAgent};

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const BUCKETS: usize = 60;
const LINES: usize = 6_000;
const BUFFER_BYTES_MAX: u64 = 64 * 1024;
const WAIT: Duration = Duration::from_secs(60);

/// How many times each complete line appears in the files below `dir` (in-use ones too).
fn lines_below(dir: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
            for l in complete.lines() {
                *out.entry(l.to_owned()).or_default() += 1;
            }
        }
    }
    out
}

fn gauge(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["SINK.k1"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn buckets_chosen_by_a_header_share_max_buffer_bytes_and_every_line_arrives_once() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let port = free_port();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.sources.r1.interceptors = i1\n\
         a1.sources.r1.interceptors.i1.type = regex_extractor\n\
         a1.sources.r1.interceptors.i1.regex = ^(b[0-9]+)-\n\
         a1.sources.r1.interceptors.i1.serializers = s1\n\
         a1.sources.r1.interceptors.i1.serializers.s1.name = key\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {}/%{{key}}\n\
         a1.sinks.k1.hdfs.fileType = DataStream\n\
         a1.sinks.k1.hdfs.rollCount = 0\na1.sinks.k1.hdfs.rollSize = 0\n\
         a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.batchSize = 1000\n\
         a1.sinks.k1.hdfs.maxBufferBytes = {BUFFER_BYTES_MAX}\n",
        out.display()
    );
    let agent = start_agent(root.path(), &conf);
    let pad = "x".repeat(400);
    let want: Vec<String> = (0..LINES)
        .map(|i| format!("b{}-{i:05}-{pad}", i % BUCKETS))
        .collect();
    let end = Instant::now() + WAIT;
    let mut sent = 0;
    while sent < want.len() {
        assert!(
            Instant::now() < end,
            "the source took {sent} of {} lines",
            want.len()
        );
        let n = netcat_send(port, &want[sent..(sent + 500).min(want.len())]);
        sent += n;
        if n == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    agent.wait_until("every line in the files", || {
        let have = lines_below(&out);
        want.iter().all(|l| have.contains_key(l))
    });
    let have = lines_below(&out);
    let twice = have.values().filter(|n| **n > 1).count();
    assert_eq!(twice, 0, "lines written more than once");
    assert_eq!(have.len(), want.len(), "no line beyond those sent");
    let peak = gauge(&agent, "BufferedBytesPeak");
    assert!(
        peak > 0 && peak <= BUFFER_BYTES_MAX,
        "buffered {peak} bytes at most, budget {BUFFER_BYTES_MAX}"
    );
    assert_eq!(
        gauge(&agent, "BufferedBytes"),
        0,
        "nothing buffered between batches"
    );
}
