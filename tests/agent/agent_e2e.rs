//! End-to-end tests of the real `sluice agent` process: lines sent over TCP to a netcat
//! source, through a file or memory channel, into file_roll sinks; SIGKILL and restart,
//! SIGTERM with events in flight, failover, and a reload that changes one sink.

use crate::support::agent_proc::Proc;
use crate::support::ports;
use ports::free_port;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// `sluice agent -n a1 -f CONF EXTRA` with `RUST_LOG=info`, a fresh log per start; waits until
/// `port` listens.
fn start_agent(dir: &Path, conf: &Path, port: u16, extra: &[&str]) -> Proc {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    let n = STARTS.fetch_add(1, Ordering::Relaxed);
    Proc::builder(dir)
        .conf_file(conf)
        .log(&format!("agent-{}-{n}.log", std::process::id()))
        .args(extra)
        .wait(WAIT)
        .ready_port(port)
        .spawn()
}

/// A netcat client that sends lines and counts `OK` answers (answers come in order).
struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(WAIT)).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Client { w, r }
    }

    /// Sends lines and returns how many were answered OK before an error or a non-OK answer.
    fn send(&mut self, lines: &[String]) -> usize {
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        if self.w.write_all(text.as_bytes()).is_err() {
            return 0;
        }
        let mut ok = 0;
        for _ in lines {
            let mut answer = String::new();
            match self.r.read_line(&mut answer) {
                Ok(n) if n > 0 && answer == "OK\n" => ok += 1,
                _ => break,
            }
        }
        ok
    }
}

fn lines(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:05}")).collect()
}

/// Every complete line of every file under `dirs`.
fn written(dirs: &[&Path]) -> Vec<String> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd {
            // Only complete lines: a sink killed mid-write may leave a torn last line.
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let complete = text.rsplit_once('\n').map(|(c, _)| c).unwrap_or("");
            out.extend(complete.lines().map(str::to_owned));
        }
    }
    out
}

fn wait_for_all(dirs: &[&Path], want: &[String], agent: &Proc) -> Vec<String> {
    let end = Instant::now() + WAIT;
    loop {
        let got = written(dirs);
        let have: BTreeSet<&String> = got.iter().collect();
        let missing: Vec<&String> = want.iter().filter(|l| !have.contains(l)).collect();
        if missing.is_empty() {
            return got;
        }
        assert!(
            Instant::now() < end,
            "{} lines missing, first {:?}; log:\n{}",
            missing.len(),
            missing[0],
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn file_conf(root: &Path, port: u16, sink_batch: usize) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/d1,{r}/d2\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.batchSize = {sink_batch}\n",
        r = root.display()
    )
}

fn write_conf(root: &Path, text: &str) -> PathBuf {
    let p = root.join("agent.properties");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn lines_sent_to_netcat_reach_file_roll_through_the_file_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = write_conf(tmp.path(), &file_conf(tmp.path(), port, 50));
    let agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    let mut c = Client::connect(port);
    let sent = lines("line", 0..300);
    assert_eq!(c.send(&sent), sent.len());
    let got = wait_for_all(&[&tmp.path().join("out")], &sent, &agent);
    assert_eq!(
        got, sent,
        "file_roll keeps the order of a single connection"
    );
}

#[test]
fn acknowledged_lines_survive_sigkill_and_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = write_conf(tmp.path(), &file_conf(tmp.path(), port, 1000));
    let mut agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    // Two clients send while the agent is killed; a line counts only once answered OK.
    let senders: Vec<_> = ["k", "j"]
        .into_iter()
        .map(|prefix| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut acked = Vec::new();
                for round in 0..1000 {
                    let batch = lines(prefix, round * 20..round * 20 + 20);
                    let ok = c.send(&batch);
                    acked.extend_from_slice(&batch[..ok]);
                    if ok < batch.len() {
                        break;
                    }
                }
                acked
            })
        })
        .collect();
    let end = Instant::now() + WAIT;
    while written(&[&tmp.path().join("out")]).len() < 200 {
        assert!(
            Instant::now() < end,
            "no output; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    agent.signal(libc::SIGKILL);
    agent.wait_exit();
    let acked: Vec<String> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(acked.len() >= 200);
    let agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    let got = wait_for_all(&[&tmp.path().join("out")], &acked, &agent);
    let sent: BTreeSet<String> = ["k", "j"]
        .iter()
        .flat_map(|p| lines(p, 0..20_000))
        .collect();
    assert!(
        got.iter().all(|l| sent.contains(l)),
        "only sent lines were written"
    );
}

#[test]
fn sigterm_with_events_in_flight_shuts_down_cleanly_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = write_conf(tmp.path(), &file_conf(tmp.path(), port, 7));
    let mut agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    let sender = std::thread::spawn(move || {
        let mut c = Client::connect(port);
        let mut acked = Vec::new();
        for round in 0..400 {
            let batch = lines("t", round * 10..round * 10 + 10);
            let ok = c.send(&batch);
            acked.extend_from_slice(&batch[..ok]);
            if ok < batch.len() {
                break;
            }
        }
        acked
    });
    // Stop while the sender is still sending (it sends 4000 lines, each batch fsynced).
    let end = Instant::now() + WAIT;
    while written(&[&tmp.path().join("out")]).len() < 100 {
        assert!(
            Instant::now() < end,
            "no output; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    agent.signal(libc::SIGTERM);
    assert_eq!(agent.wait_exit(), Some(0), "log:\n{}", agent.log_text());
    let log = agent.log_text();
    // A loaded machine can take longer than the close's grace for the final checkpoint;
    // then recovery at the next start takes over, which is also a clean outcome.
    assert!(
        log.contains("channel closed") || log.contains("leaving them to recovery"),
        "log:\n{log}"
    );
    let acked = sender.join().unwrap();
    assert!(!acked.is_empty());
    let agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    wait_for_all(&[&tmp.path().join("out")], &acked, &agent);
}

fn failover_conf(root: &Path, port: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1 k2\na1.sinkgroups = g1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/primary\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k2.type = file_roll\na1.sinks.k2.channel = c1\n\
         a1.sinks.k2.sink.directory = {r}/backup\na1.sinks.k2.sink.rollInterval = 0\n\
         a1.sinkgroups.g1.sinks = k1 k2\na1.sinkgroups.g1.processor.type = failover\n\
         a1.sinkgroups.g1.processor.priority.k1 = 10\na1.sinkgroups.g1.processor.priority.k2 = 5\n\
         a1.sinkgroups.g1.processor.maxpenalty = 1000\n",
        r = root.display()
    )
}

#[test]
fn failover_moves_to_the_backup_sink_and_back_when_the_primary_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let (primary, backup) = (tmp.path().join("primary"), tmp.path().join("backup"));
    std::fs::write(&primary, "a file where the primary wants its directory").unwrap();
    let port = free_port();
    let conf = write_conf(tmp.path(), &failover_conf(tmp.path(), port));
    let agent = start_agent(tmp.path(), &conf, port, &["--no-reload-conf"]);
    let mut c = Client::connect(port);
    let first = lines("f", 0..100);
    assert_eq!(c.send(&first), first.len());
    wait_for_all(&[&backup], &first, &agent);
    std::fs::remove_file(&primary).unwrap();
    // Keep sending until the primary has taken some of the lines.
    let mut sent = first.clone();
    let end = Instant::now() + WAIT;
    let mut round = 1;
    while written(&[&primary]).is_empty() {
        assert!(
            Instant::now() < end,
            "primary never recovered; log:\n{}",
            agent.log_text()
        );
        let more = lines("f", round * 100..round * 100 + 100);
        assert_eq!(c.send(&more), more.len());
        sent.extend(more);
        round += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = wait_for_all(&[&primary, &backup], &sent, &agent);
    assert_eq!(got.len(), sent.len(), "nothing written twice");
}

#[test]
fn reload_refuses_a_broken_edit_then_changes_one_sink_keeping_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\na1.sinks.k1.sink.rollInterval = 0\n",
        a.display()
    );
    let conf = write_conf(tmp.path(), &text);
    let agent = start_agent(tmp.path(), &conf, port, &["--poll-interval", "1"]);
    let mut c = Client::connect(port);
    let mut sent = lines("r", 0..50);
    assert_eq!(c.send(&sent), 50);
    wait_for_all(&[&a], &sent, &agent);
    // A broken edit is refused and the running agent carries on.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&conf, text.replace("type = file_roll", "type = bogus")).unwrap();
    let end = Instant::now() + WAIT;
    while !agent.log_text().contains("keeping the running one") {
        assert!(
            Instant::now() < end,
            "broken edit not noticed; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let more = lines("r", 50..100);
    assert_eq!(c.send(&more), 50);
    sent.extend(more);
    wait_for_all(&[&a], &sent, &agent);
    std::thread::sleep(Duration::from_millis(1100));
    let changed = text.replace(&a.display().to_string(), &b.display().to_string());
    std::fs::write(&conf, changed).unwrap();
    // The same connection keeps working through the reload: the source is not restarted.
    let end = Instant::now() + WAIT;
    let mut round = 2;
    while written(&[&b]).is_empty() {
        assert!(
            Instant::now() < end,
            "reload not applied; log:\n{}",
            agent.log_text()
        );
        let more = lines("r", round * 50..round * 50 + 50);
        assert_eq!(c.send(&more), 50, "log:\n{}", agent.log_text());
        sent.extend(more);
        round += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = wait_for_all(&[&a, &b], &sent, &agent);
    assert_eq!(got.len(), sent.len());
    let log = agent.log_text();
    assert!(log.contains("sink runner stopped"), "log:\n{log}");
    assert!(!log.contains("source stopped"), "log:\n{log}");
}
