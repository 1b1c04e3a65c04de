//! TAILDIR and a syslog TCP connection paced to the takers of their file channel (issue 69):
//! while a taker commits takes, the source reads no further ahead than about half the
//! channel's event cache (plus the batches of one read or group); once the taker stops, it
//! reads on at full speed and the channel is the buffer. Real file channel, real files and
//! sockets, bounded loops; the outcome asserted is the queue's size and every line delivered
//! once, in order.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::agent::channel::file::FileChannelAdapter;
use sluice::agent::channel::AgentChannel;
use sluice::agent::metrics::CounterGroup;
use sluice::agent::router::ChannelProcessor;
use sluice::agent::source::SourceCtx;
use sluice::agent::stop;
use sluice::agent::topology::load;
use sluice_core::FileChannelConfig;

/// The channel's event cache: about 560 events of the lines below.
const CACHE_BYTES: u64 = 256 << 10;
/// Lines written while the taker takes, and after it stopped.
const PACED_LINES: usize = 6_000;
const UNPACED_LINES: usize = 3_000;
/// Most events a slow taker may find queued: half the cache, one read of the source
/// (`GROUP_BATCHES_MAX`, 8 batches of 100) and a batch of slack.
const QUEUED_MAX: u64 = 280 + 800 + 100;
/// `source::pace::TAKER_IDLE` (crate-private), less a margin for the source's own poll.
const TAKER_IDLE_IN_TEST: Duration = Duration::from_millis(900);

fn line(i: usize) -> String {
    format!("{i:06} {}\n", "x".repeat(190))
}

fn append(p: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .unwrap();
    let text: String = (from..to).map(line).collect();
    f.write_all(text.as_bytes()).unwrap();
}

fn source_config(dir: &Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {d}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\n\
         a1.sources.r1.filegroups.f1 = {d}/logs/app\\.log\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        d = dir.display()
    )
}

/// Takes up to `max` events in one committed transaction; their bodies.
async fn take(ch: &dyn AgentChannel, max: usize) -> Vec<String> {
    let mut tx = ch.begin();
    let got = tx.take_up_to(max).await.unwrap();
    tx.commit().await.unwrap();
    got.iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect()
}

/// What a slow taker saw: the most events queued before a take, and the longest time between
/// two of its committed takes (a taker idle for `pace::TAKER_IDLE` no longer holds the source
/// back, so on a machine that stalled the test that long the bound does not apply).
struct Taken {
    queued_max: u64,
    longest_gap: Duration,
}

/// Takes until `n` bodies are in `into`, `max` at a time, `pause` between takes.
async fn take_slowly(
    ch: &dyn AgentChannel,
    into: &mut Vec<String>,
    n: usize,
    max: usize,
    pause: Duration,
) -> Taken {
    let mut seen = Taken {
        queued_max: 0,
        longest_gap: Duration::ZERO,
    };
    let mut last = Instant::now();
    for _ in 0..200_000 {
        if into.len() >= n {
            return seen;
        }
        seen.queued_max = seen.queued_max.max(ch.backlog().unwrap().queued);
        into.extend(take(ch, max).await);
        seen.longest_gap = seen.longest_gap.max(last.elapsed());
        last = Instant::now();
        tokio::time::sleep(pause).await;
    }
    panic!("only {} of {n} lines arrived", into.len());
}

/// Starts the source `r1` of `props` (an agent `a1`) on `ch` in place of its channel; the
/// handle that stops it and its task.
fn start_source(
    props: &str,
    ch: &Arc<dyn AgentChannel>,
) -> (
    stop::StopHandle,
    tokio::task::JoinHandle<Result<(), sluice::agent::source::SourceError>>,
) {
    let agent = load(props, "a1", &[]).config.unwrap();
    let src = &agent.sources["r1"];
    let chans = BTreeMap::from([("c1".to_owned(), ch.clone())]);
    let (handle, rx) = stop::channel();
    let ctx = SourceCtx {
        name: "r1".into(),
        router: Arc::new(ChannelProcessor::new(src, &chans).unwrap()),
        counters: CounterGroup::source(),
        stop: rx,
        alarms: Default::default(),
        ready: Default::default(),
    };
    (handle, tokio::spawn(src.kind.clone().run(ctx)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taildir_waits_for_a_slow_taker_and_reads_on_once_it_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs/app.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    append(&log, 0, 1);
    let cfg = FileChannelConfig {
        minimum_required_space_bytes: 1 << 20,
        tail_cache_bytes: CACHE_BYTES,
        ..FileChannelConfig::with_dirs(tmp.path().join("ck"), vec![tmp.path().join("d")])
    };
    let ch: Arc<dyn AgentChannel> = Arc::new(FileChannelAdapter::open("c1", cfg).await.unwrap());
    let (handle, task) = start_source(&source_config(tmp.path()), &ch);

    // A taker that takes: the first line, then the rest ten at a time.
    let mut got = Vec::new();
    take_slowly(ch.as_ref(), &mut got, 1, 10, Duration::from_millis(5)).await;
    append(&log, 1, 1 + PACED_LINES);
    let taken = take_slowly(
        ch.as_ref(),
        &mut got,
        1 + PACED_LINES,
        10,
        Duration::from_millis(1),
    )
    .await;
    // The bound holds while the taker commits at least once per TAKER_IDLE; a machine that
    // stalled the taker longer (seen as the gap) let the source read on, as designed.
    assert!(
        taken.queued_max <= QUEUED_MAX || taken.longest_gap >= TAKER_IDLE_IN_TEST,
        "the source read {} events ahead of a taker that takes (longest gap {:?})",
        taken.queued_max,
        taken.longest_gap
    );

    // The taker stops: the source reads everything into the channel.
    append(&log, 1 + PACED_LINES, 1 + PACED_LINES + UNPACED_LINES);
    let mut queued = 0;
    for _ in 0..6_000 {
        queued = ch.backlog().unwrap().queued;
        if queued >= UNPACED_LINES as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        queued, UNPACED_LINES as u64,
        "a stopped taker stopped the source"
    );
    let all = 1 + PACED_LINES + UNPACED_LINES;
    take_slowly(ch.as_ref(), &mut got, all, 1000, Duration::ZERO).await;

    handle.stop();
    task.await.unwrap().unwrap();
    let want: Vec<String> = (0..all).map(|i| line(i).trim_end().to_owned()).collect();
    assert_eq!(got, want, "every line once, in order");
    ch.close().await.unwrap();
}

/// The syslog test's cache: about 7,900 of its events (body, 5 headers and 256 bytes each).
const SYSLOG_CACHE_BYTES: u64 = 4 << 20;
const SYSLOG_LINES: usize = 30_000;
/// Half the cache, one group of the connection (16 batches of 100), one parsed ahead while it
/// commits, and a batch of slack.
const SYSLOG_QUEUED_MAX: u64 = 3_950 + 1_600 + 1_600 + 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syslog_connection_waits_for_a_slow_taker_and_sends_on_once_it_stops() {
    use tokio::io::AsyncWriteExt;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FileChannelConfig {
        minimum_required_space_bytes: 1 << 20,
        tail_cache_bytes: SYSLOG_CACHE_BYTES,
        ..FileChannelConfig::with_dirs(tmp.path().join("ck"), vec![tmp.path().join("d")])
    };
    let ch: Arc<dyn AgentChannel> = Arc::new(FileChannelAdapter::open("c1", cfg).await.unwrap());
    let port = crate::support::ports::free_port();
    let props = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = syslogtcp\na1.sources.r1.channels = c1\n\
         a1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    );
    let (handle, task) = start_source(&props, &ch);
    let mut conn = connect(port).await;
    let text: String = (0..SYSLOG_LINES)
        .map(|i| format!("<13>Oct 11 22:14:15 h {}", line(i)))
        .collect();
    // The sender writes everything at once; what the source does not read waits in TCP.
    let sender = tokio::spawn(async move {
        conn.write_all(text.as_bytes()).await.unwrap();
        conn
    });

    // A taker that takes: the first line, then ten at a time, for a third of the lines.
    let mut got = Vec::new();
    let taken = take_slowly(
        ch.as_ref(),
        &mut got,
        SYSLOG_LINES / 3,
        10,
        Duration::from_millis(1),
    )
    .await;
    assert!(
        taken.queued_max <= SYSLOG_QUEUED_MAX || taken.longest_gap >= TAKER_IDLE_IN_TEST,
        "the connection was read {} events ahead of a taker that takes (longest gap {:?})",
        taken.queued_max,
        taken.longest_gap
    );

    // The taker stops: the connection is read to its end into the channel.
    let rest = (SYSLOG_LINES - got.len()) as u64;
    let mut queued = 0;
    for _ in 0..6_000 {
        queued = ch.backlog().unwrap().queued;
        if queued >= rest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(queued, rest, "a stopped taker stopped the connection");
    take_slowly(ch.as_ref(), &mut got, SYSLOG_LINES, 1000, Duration::ZERO).await;
    drop(sender.await.unwrap());

    handle.stop();
    task.await.unwrap().unwrap();
    let want: Vec<String> = (0..SYSLOG_LINES)
        .map(|i| line(i).trim_end().to_owned())
        .collect();
    assert_eq!(got, want, "every line once, in order");
    ch.close().await.unwrap();
}

/// A connection to the source on `port`, once it listens (at most 5 s).
async fn connect(port: u16) -> tokio::net::TcpStream {
    for _ in 0..500 {
        if let Ok(c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the syslog source did not listen on {port}");
}
