//! A collector outage while kubelet rotates and gzips, on real agents: the node agent
//! (`kubernetes` → a file channel of 1,000 events → an avro sink) and a collector (avro → file
//! channel → file_roll) that is stopped while each container writes several
//! `containerLogMaxSize` files. The channel fills, the source stops reading, and kubelet
//! renames, gzips (removing each plain file) and removes files past `containerLogMaxFiles`
//! behind it: only the spool keeps them. Within `spoolBytes` every message arrives once, its
//! metadata exact; with a spool too small, what never arrives is exactly what
//! `LinesLostUnreadCount` counts, to the line, and nothing arrives twice.
//!
//! The writer keeps kubelet's pace in one respect: a new live file is seen by the agent (its
//! spool link made) before the next rotation (kubelet rotates every 10 s at most).
//!
//! Short here (a few MiB per container, seconds). The full size (about 40 MiB per
//! container at 10 MiB files, 5 minutes down):
//! `SLUICE_LONG=1 SLUICE_REQUIRE_KUBERNETES=1 cargo test --release --test kubernetes outage`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::node::{message, Container, Format, Want};
use crate::output::{assert_at_most_once, written};
use crate::support::agent_proc::{counter, HttpAgent, Proc};
use crate::support::long_runs::long_runs;
use crate::support::ports::free_port;
use crate::support::status_support::start_agent;

/// The outage's size.
struct Size {
    /// Bytes each container writes while the collector is down.
    bytes: u64,
    /// kubelet's `containerLogMaxSize`.
    max_size: u64,
    /// How long the collector stays down (at least; the writing spread over it).
    down: Duration,
}

fn size() -> Size {
    if long_runs() {
        Size {
            bytes: 40 << 20,
            max_size: 10 << 20,
            down: Duration::from_secs(300),
        }
    } else {
        Size {
            bytes: 3 << 20,
            max_size: 512 << 10,
            down: Duration::from_secs(3),
        }
    }
}

/// The node agent: the source with `spool_bytes`, a channel of 1,000 events, avro to `port`
/// (batches of 200 and 500: each commit costs an fsync on both sides).
fn edge_conf(root: &Path, port: u16, spool_bytes: u64) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = kubernetes\na1.sources.r1.channels = c1\n\
         a1.sources.r1.podLogsDir = {r}/pods\na1.sources.r1.apiServer = none\n\
         a1.sources.r1.positionFile = {r}/state/positions.json\n\
         a1.sources.r1.spoolBytes = {spool_bytes}\n\
         a1.sources.r1.batchSize = 200\na1.sources.r1.maxBackoffSleep = 200\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.channels.c1.capacity = 1000\na1.channels.c1.transactionCapacity = 500\n\
         a1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hostname = 127.0.0.1\na1.sinks.k1.port = {port}\n\
         a1.sinks.k1.batch-size = 500\na1.sinks.k1.connect-timeout = 1000\n\
         a1.sinks.k1.request-timeout = 20000\na1.sinks.k1.max-reconnect-backoff = 500\n",
        r = root.display()
    )
}

/// The collector: avro on `port` → file channel → file_roll (`header_and_text`) into
/// `<root>/col/out`.
fn collector_conf(root: &Path, port: u16) -> String {
    format!(
        "col.sources = r1\ncol.channels = c1\ncol.sinks = k1\n\
         col.sources.r1.type = avro\ncol.sources.r1.bind = 127.0.0.1\n\
         col.sources.r1.port = {port}\ncol.sources.r1.channels = c1\n\
         col.channels.c1.type = file\ncol.channels.c1.checkpointDir = {r}/col/ck\n\
         col.channels.c1.dataDirs = {r}/col/data\ncol.channels.c1.minimumRequiredSpace = 1048576\n\
         col.channels.c1.capacity = 1000000\ncol.channels.c1.transactionCapacity = 1000\n\
         col.sinks.k1.type = file_roll\ncol.sinks.k1.channel = c1\n\
         col.sinks.k1.sink.directory = {r}/col/out\ncol.sinks.k1.sink.rollInterval = 0\n\
         col.sinks.k1.sink.serializer = header_and_text\ncol.sinks.k1.sink.batchSize = 1000\n",
        r = root.display()
    )
}

/// Writes about `bytes` into `c`: lines of 100-400 bytes, every 97th of 40 KB (three partial
/// lines), on both streams.
fn write_bytes(c: &mut Container, tag: &str, bytes: u64) {
    let mut n = 0u64;
    let mut i = 0usize;
    while n < bytes {
        let len = if i % 97 == 5 {
            40_000
        } else {
            100 + (i * 53) % 300
        };
        let stream = if i % 2 == 0 { "stdout" } else { "stderr" };
        c.write(&message(&format!("{}-{tag}-m{i}", c.name), len), stream);
        n += len as u64;
        i += 1;
    }
}

/// Whether the spool under `root` holds a link to the file `p`.
fn spooled(root: &Path, p: &Path) -> bool {
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    let prefix = format!("{}-", m.ino());
    std::fs::read_dir(root.join("state/.taildir-spool/positions.json")).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    })
}

/// The outage: the collector stopped, each container writes `size.bytes` in steps of a
/// quarter file, spread over `size.down`; after each step the agent has seen (spooled)
/// every live file before the writer goes on.
fn outage(root: &Path, cs: &mut [Container], col: &mut Proc, edge: &HttpAgent, size: &Size) {
    col.stop();
    let step = size.max_size / 4;
    let steps = size.bytes.div_ceil(step);
    let pause = size.down / u32::try_from(steps).unwrap();
    for k in 0..steps {
        let t = Instant::now();
        for c in cs.iter_mut() {
            write_bytes(c, &format!("o{k}"), step);
        }
        for c in cs.iter() {
            let live = c.live_file();
            edge.wait_until("the live file to be spooled", || spooled(root, &live));
        }
        std::thread::sleep(pause.saturating_sub(t.elapsed()));
    }
    let written_msgs: usize = cs.iter().map(|c| c.wants.len()).sum();
    let accepted = counter(edge.http, "SOURCE.r1", "EventAcceptedCount");
    assert!(
        accepted < written_msgs as u64,
        "the source read everything during the outage ({accepted} events): the channel never filled"
    );
    let gz = cs[0].gzipped();
    assert!(gz > 0, "kubelet's rotation gzipped files during the outage");
    col.restart();
}

/// What came of one outage: the messages wanted, the events the collector wrote (complete:
/// every line either written or counted lost) and the edge's loss count.
struct Outcome {
    wants: Vec<Want>,
    got: Vec<crate::output::Got>,
    lost_lines: u64,
}

fn run(spool_bytes: u64) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let size = size();
    let mut cs = vec![
        Container::new(&pods, "shop", "web-1", "web", Format::Cri),
        Container::new(&pods, "shop", "web-1", "proxy", Format::Json),
    ];
    for c in cs.iter_mut() {
        c.limits(size.max_size, 5);
    }
    let port = free_port();
    let mut col = Proc::start(root, "col", &collector_conf(root, port), port, &[]);
    let edge = start_agent(root, &edge_conf(root, port, spool_bytes));
    for c in cs.iter_mut() {
        write_bytes(c, "before", 64 << 10);
    }
    let before: usize = cs.iter().map(|c| c.wants.len()).sum();
    edge.wait_until("the lines before the outage", || {
        written(&root.join("col")).len() >= before
    });
    outage(root, &mut cs, &mut col, &edge, &size);
    let wants: Vec<Want> = cs.iter().flat_map(|c| c.wants.clone()).collect();
    let total_lines: u64 = wants.iter().map(|w| w.lines as u64).sum();
    // Done when every line was written or counted lost.
    let end = Instant::now() + Duration::from_secs(if long_runs() { 900 } else { 300 });
    let done = || {
        let lost = counter(edge.http, "SOURCE.r1", "LinesLostUnreadCount");
        let got = written(&root.join("col"));
        let lines: u64 = got.iter().map(|g| lines_of(&g.body)).sum();
        (lines + lost >= total_lines).then_some(lost)
    };
    let lost_lines = loop {
        if let Some(lost) = done() {
            break lost;
        }
        assert!(
            Instant::now() < end,
            "not every line written or counted lost; edge:\n{}\ncollector:\n{}",
            edge.log_tail(20_000),
            col.log_tail(20_000)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // A moment for anything sent twice to show.
    std::thread::sleep(Duration::from_secs(1));
    let got = written(&root.join("col"));
    col.stop();
    Outcome {
        wants,
        got,
        lost_lines,
    }
}

/// The lines a message of `body`'s length took in its file.
fn lines_of(body: &str) -> u64 {
    body.len().max(1).div_ceil(crate::node::PART_BYTES) as u64
}

#[test]
fn a_collector_outage_while_kubelet_rotates_and_gzips_loses_no_line_within_the_spool() {
    let o = run(1 << 30);
    let missing = assert_at_most_once(&o.got, &o.wants);
    assert_eq!(missing.len(), 0, "{} messages lost", missing.len());
    assert_eq!(o.lost_lines, 0);
    eprintln!(
        "outage within the spool: {} messages, each once, 0 lost",
        o.wants.len()
    );
}

#[test]
fn past_the_spool_budget_the_lines_lost_are_counted_exactly_and_none_is_sent_twice() {
    let budget = size().max_size * 3 / 2;
    let o = run(budget);
    let missing = assert_at_most_once(&o.got, &o.wants);
    let missing_lines: u64 = missing.iter().map(|w| w.lines as u64).sum();
    assert!(
        missing_lines > 0,
        "nothing was lost past a spool of {budget} bytes"
    );
    assert_eq!(
        o.lost_lines, missing_lines,
        "LinesLostUnreadCount against the lines never written"
    );
    eprintln!(
        "outage past the spool: {} of {} messages lost ({missing_lines} lines), counted exactly",
        missing.len(),
        o.wants.len()
    );
}
