//! Issue 25 in the real `sluice agent`: http source → memory channel → hdfs sink on the local
//! disk, fed by a hostile HTTP client. One poison event (a header that makes a 300-byte
//! directory name) is delivered around: counted, logged once, written to the dead letter, and
//! every other event arrives exactly once. Header values such as `../../x`, `a/../../b` or a
//! NUL byte never make a file outside `hdfs.path`.

use crate::support::agent_proc;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::ports;
use agent_proc::{counter, HttpAgent};
use ports::free_port;

fn conf(root: &Path, port: u16, path: &str, prefix: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.channels.c1.transactionCapacity = 1000\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {path}\na1.sinks.k1.hdfs.filePrefix = {prefix}\n\
         a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollCount = 0\n\
         a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollInterval = 0\n\
         a1.sinks.k1.hdfs.batchSize = 100\n\
         a1.sinks.k1.deadLetter.directory = {r}/dead\n",
        r = root.display()
    )
}

/// POSTs a JSON array of events; returns the status code.
fn post(port: u16, events: &[serde_json::Value]) -> u16 {
    let body = serde_json::to_vec(events).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn event(body: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let h: BTreeMap<&str, &str> = headers.iter().copied().collect();
    serde_json::json!({ "headers": h, "body": body })
}

/// Every file under `root`, recursively.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every line of every file under `dir`.
fn lines_under(dir: &Path) -> Vec<String> {
    files_under(dir)
        .iter()
        .flat_map(|p| {
            String::from_utf8_lossy(&std::fs::read(p).unwrap())
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn one_poison_event_is_delivered_around_counted_logged_once_and_nothing_is_duplicated() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let (port, http) = (free_port(), free_port());
    let path = format!("{}/out/%{{app}}", root.display());
    let mut agent = HttpAgent::spawn(
        root,
        "a1",
        &conf(root, port, &path, "FlumeData"),
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let long = "p".repeat(300);
    let mut want = Vec::new();
    for r in 0..20 {
        let mut batch = Vec::new();
        for i in 0..25 {
            let body = format!("r{r:02}-e{i:02}");
            batch.push(event(&body, &[("app", "shop")]));
            want.push(body);
        }
        if r == 7 {
            // In the middle of a request, so it shares a sink batch with good events.
            batch.insert(12, event("poison", &[("app", &long)]));
        }
        assert_eq!(post(port, &batch), 200, "request {r}");
    }
    agent.wait_until(
        "every good event drained and the poison one counted",
        || {
            counter(http, "SINK.k1", "EventDrainSuccessCount") == want.len() as u64
                && counter(http, "SINK.k1", "EventPoisonCount") == 1
        },
    );
    assert_eq!(counter(http, "SINK.k1", "EventDeadLetterCount"), 1);
    assert_eq!(
        counter(http, "SINK.k1", "EventWriteFail"),
        0,
        "no batch failed"
    );
    assert_eq!(agent.terminate(), Some(0));
    let mut got = lines_under(&root.join("out"));
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "every good event exactly once, the poison one nowhere"
    );
    let dead = std::fs::read_to_string(root.join("dead/k1.deadletter.jsonl")).unwrap();
    let v: serde_json::Value = serde_json::from_str(dead.trim()).unwrap();
    assert_eq!(v["body"], "poison");
    assert_eq!(v["headers"]["app"], long.as_str());
    let log = agent.log_text();
    assert_eq!(log.matches("poison event").count(), 1, "{log}");
    assert!(log.contains("300 bytes"), "{log}");
}

#[test]
fn header_values_never_make_a_file_outside_hdfs_path() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let (port, http) = (free_port(), free_port());
    let path = format!("{}/a/b/out/%{{app}}/x", root.display());
    let mut agent = HttpAgent::spawn(
        root,
        "a1",
        &conf(root, port, &path, "%{pre}"),
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let nasty = [
        "../../x",
        "a/../../b",
        "..",
        "/tmp/y",
        "a\0b",
        "\n\u{1b}[31m",
        "ok",
    ];
    let mut batch = Vec::new();
    for app in nasty {
        for pre in nasty {
            batch.push(event("e", &[("app", app), ("pre", pre)]));
        }
    }
    assert_eq!(post(port, &batch), 200);
    let n = batch.len() as u64;
    agent.wait_until("every event drained", || {
        counter(http, "SINK.k1", "EventDrainSuccessCount") == n
    });
    assert_eq!(agent.terminate(), Some(0));
    let out = root.join("a/b/out");
    let mine = ["a1.properties", "a1.log"].map(|f| root.join(f));
    let mut inside = 0;
    for f in files_under(root) {
        if mine.contains(&f) {
            continue;
        }
        assert!(f.starts_with(&out), "{} is outside hdfs.path", f.display());
        let name = f.strip_prefix(&out).unwrap().display().to_string();
        assert!(
            !name.chars().any(char::is_control),
            "{name:?} has a control character"
        );
        inside += 1;
    }
    assert_eq!(inside, nasty.len() * nasty.len(), "one file per bucket");
    assert_eq!(lines_under(&out).len() as u64, n);
}
