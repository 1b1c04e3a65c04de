//! Issue 79 in the real `sluice agent`: netcat source → file channel → hdfs sink whose
//! `hdfs.path` has time escapes, and nothing gives the events a timestamp (no
//! `hdfs.useLocalTimeStamp`, no timestamp interceptor). Every event is a poison event; with
//! no `deadLetter.*` key at all, each of the 200 acknowledged lines is kept in the default
//! dead letter beside the channel (`<checkpointDir>/../deadletter/k1.deadletter.jsonl`),
//! counted in `EventDeadLetterCount`, and the WARN names the file.

use std::path::Path;

use crate::support::agent_proc::{counter, HttpAgent};
use crate::support::lines_support::{lines, netcat_send};
use crate::support::ports::free_port;

fn conf(root: &Path, port: u16) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n\
         a1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\n\
         a1.channels.c1.checkpointDir = {r}/fc/checkpoint\n\
         a1.channels.c1.dataDirs = {r}/fc/data\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {r}/out/%Y%m%d\n\
         a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.batchSize = 50\n",
        r = root.display()
    )
}

#[test]
fn a_time_escaped_path_without_timestamps_keeps_every_acknowledged_line_in_the_default_dead_letter()
{
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let (port, http) = (free_port(), free_port());
    let mut agent = HttpAgent::spawn(
        root,
        "a1",
        &conf(root, port),
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let sent = lines("line", 0..200);
    assert_eq!(netcat_send(port, &sent), 200, "every line acknowledged");
    agent.wait_until("all 200 lines dead-lettered", || {
        counter(http, "SINK.k1", "EventDeadLetterCount") == 200
    });
    assert_eq!(counter(http, "SINK.k1", "EventPoisonCount"), 200);
    assert_eq!(agent.terminate(), Some(0));
    let file = root.join("fc/deadletter/k1.deadletter.jsonl");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), agent.log_text()));
    let bodies: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["body"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(bodies, sent, "every line, once, in order");
    assert!(
        !root.join("out").exists(),
        "no event written under hdfs.path"
    );
    let log = agent.log_text();
    assert!(log.contains("poison event"), "{log}");
    assert!(
        log.contains(&format!("written to the dead letter {}", file.display())),
        "the WARN names the file: {log}"
    );
    assert!(
        log.contains("useLocalTimeStamp"),
        "the reason names the fix: {log}"
    );
}

/// A tmpfs of `size` mounted at a directory, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount -t tmpfs at {} (needs root)", dir.display());
        Tmpfs(dir.to_owned())
    }

    fn resize(&self, size: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {}", self.0.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Issue 87: a dead letter that hit ENOSPC kept 19 records twice and a torn line. Now a failed
/// write is cut back to where its batch began: once the disk has room, every line is there
/// once, in order, and every line of the file is a whole JSON object.
#[test]
fn a_dead_letter_that_runs_out_of_space_keeps_no_record_twice_and_no_torn_line() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let dl = root.join("dl");
    let disk = Tmpfs::mount(&dl, "16k");
    let (port, http) = (free_port(), free_port());
    let conf = format!(
        "{}a1.sinks.k1.deadLetter.directory = {}\n",
        conf(root, port),
        dl.display()
    );
    let mut agent = HttpAgent::spawn(
        root,
        "a1",
        &conf,
        vec!["--no-reload-conf".into()],
        http,
        Some(port),
    );
    let sent = lines("line", 0..200);
    assert_eq!(netcat_send(port, &sent), 200, "every line acknowledged");
    agent.wait_log("No space left on device");
    let full = counter(http, "SINK.k1", "EventDeadLetterCount");
    assert!(full < 200, "the disk filled up first ({full})");
    disk.resize("4m");
    agent.wait_until("all 200 lines dead-lettered", || {
        counter(http, "SINK.k1", "EventDeadLetterCount") == 200
    });
    assert_eq!(agent.terminate(), Some(0));
    let file = dl.join("k1.deadletter.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with('\n'), "no torn last line");
    let bodies: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line {l:?}: {e}"));
            v["body"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(bodies.len(), 200, "no record twice: {} lines", bodies.len());
    assert_eq!(bodies, sent, "every line, once, in order");
}
