//! The Ganglia reporter against a real gmond (Debian's `ganglia-monitor`, installed by
//! `.ci/install-ganglia.sh`): the test runs its own gmond with its own config on free loopback
//! ports, starts an agent with the seed tutorial's `-Dflume.monitoring.type=ganglia
//! -Dflume.monitoring.hosts=HOST:PORT`, and reads the metrics back from gmond's XML port: every
//! component's Flume attributes under Flume's names, numbers as floats, words as strings.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::agent_proc::Proc;
use crate::support::ports::free_port;

/// A gmond of the test's own; killed on drop.
struct Gmond {
    child: Child,
    xml_port: u16,
    udp_port: u16,
}

impl Drop for Gmond {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gmond_binary() -> PathBuf {
    ["/usr/sbin/gmond", "/usr/bin/gmond"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("gmond is not installed: run .ci/install-ganglia.sh"))
}

fn start_gmond(dir: &Path) -> Gmond {
    let udp_port = free_port();
    let xml_port = free_port();
    let conf = dir.join("gmond.conf");
    std::fs::write(
        &conf,
        format!(
            "globals {{\n  daemonize = no\n  setuid = no\n  debug_level = 0\n  mute = yes\n  \
             deaf = no\n  host_dmax = 0\n  cleanup_threshold = 300\n  gexec = no\n  \
             send_metadata_interval = 0\n}}\ncluster {{ name = \"sluice-test\" }}\n\
             udp_recv_channel {{ port = {udp_port} bind = 127.0.0.1 }}\n\
             tcp_accept_channel {{ port = {xml_port} bind = 127.0.0.1 }}\n"
        ),
    )
    .expect("gmond.conf");
    let child = Command::new(gmond_binary())
        .arg("-c")
        .arg(&conf)
        .arg("-f")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("gmond.log")).expect("gmond.log"))
        .spawn()
        .expect("gmond starts");
    let g = Gmond {
        child,
        xml_port,
        udp_port,
    };
    let end = Instant::now() + Duration::from_secs(20);
    while xml(&g).is_none() {
        assert!(Instant::now() < end, "gmond never opened its XML port");
        std::thread::sleep(Duration::from_millis(100));
    }
    g
}

/// gmond's XML report, if it answers.
fn xml(g: &Gmond) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", g.xml_port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The `<METRIC NAME="name" ...>` line of a report.
fn metric<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("<METRIC NAME=\"{name}\" ");
    xml.lines().find(|l| l.contains(&needle))
}

#[test]
fn a_real_gmond_receives_every_component_metric_under_flumes_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = start_gmond(dir.path());
    let conf = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
                a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 7\n\
                a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n\
                a1.channels.c1.capacity = 500\na1.sinks.k1.type = null\n\
                a1.sinks.k1.channel = c1\n";
    let hosts = format!("-Dflume.monitoring.hosts=127.0.0.1:{}", g.udp_port);
    let mut agent = Proc::plain(
        dir.path(),
        conf,
        &[
            "-Dflume.monitoring.type=ganglia",
            &hosts,
            "-Dflume.monitoring.pollFrequency=1",
        ],
    );
    let wanted = [
        ("flume.SOURCE.r1.EventAcceptedCount", "float"),
        ("flume.SOURCE.r1.Type", "string"),
        ("flume.CHANNEL.c1.ChannelCapacity", "float"),
        ("flume.SINK.k1.EventDrainSuccessCount", "float"),
    ];
    let mut last = String::new();
    // One packet per metric: a report read mid-poll can hold the count of 7 and not yet a
    // metric sent after it, so the wait is for all of them (the next poll sends each again).
    agent.wait_until("gmond reports the source's 7 accepted events", || {
        last = xml(&g).unwrap_or_default();
        metric(&last, "flume.SOURCE.r1.EventAcceptedCount").is_some_and(|l| l.contains("VAL=\"7\""))
            && wanted.iter().all(|(name, _)| metric(&last, name).is_some())
    });
    for (name, ty) in wanted {
        let line = metric(&last, name).unwrap_or_else(|| panic!("{name} missing:\n{last}"));
        assert!(line.contains(&format!("TYPE=\"{ty}\"")), "{name}: {line}");
    }
    assert!(metric(&last, "flume.CHANNEL.c1.ChannelCapacity")
        .is_some_and(|l| l.contains("VAL=\"500\"")));
    assert!(
        last.contains("<EXTRA_ELEMENT NAME=\"GROUP\" VAL=\"flume\"/>"),
        "{last}"
    );
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log_text());
}

#[test]
fn a_ganglia_reporter_without_hosts_or_an_unknown_reporter_does_not_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("a.properties");
    std::fs::write(
        &conf,
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
    )
    .expect("conf");
    for (define, says) in [
        ("-Dflume.monitoring.type=ganglia", "flume.monitoring.hosts"),
        ("-Dflume.monitoring.type=jmx", "ganglia"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["agent", "-n", "a1", "--no-reload-conf", "-f"])
            .arg(&conf)
            .arg(define)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sluice agent");
        let end = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > end {
                let _ = child.kill();
                panic!("{define}: the agent started instead of refusing");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        assert_eq!(status.code(), Some(2), "{define}: {stderr}");
        assert!(stderr.contains(says), "{define}: {stderr}");
    }
}
