//! The real binary with the network sources: syslog over TCP (newline and octet-counted)
//! and UDP, and JSON over HTTP, through a file channel into file_roll; then SIGTERM while a
//! syslog connection and a keep-alive HTTP connection are open and idle must end the agent
//! cleanly.

use crate::support::agent_proc::Proc;
use crate::support::ports;
use ports::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// The first connection `port` accepts, waited for (bounded by the agent's wait).
fn connect(a: &Proc, port: u16) -> TcpStream {
    let mut stream = None;
    a.wait_until(&format!("a listener on {port}"), || {
        stream = TcpStream::connect(("127.0.0.1", port)).ok();
        stream.is_some()
    });
    let s = stream.unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

fn out_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        lines.extend(text.lines().map(str::to_owned));
    }
    lines.sort();
    lines
}

/// syslogtcp, syslogudp and http sources under `root` -> file channel -> file_roll in `out`.
fn net_conf(root: &Path, (tport, uport, hport): (u16, u16, u16), out: &Path) -> String {
    format!(
        "a1.sources = st su h\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.st.type = syslogtcp\na1.sources.st.host = 127.0.0.1\na1.sources.st.port = {tport}\n\
         a1.sources.st.channels = c1\n\
         a1.sources.su.type = syslogudp\na1.sources.su.host = 127.0.0.1\na1.sources.su.port = {uport}\n\
         a1.sources.su.channels = c1\n\
         a1.sources.h.type = http\na1.sources.h.bind = 127.0.0.1\na1.sources.h.port = {hport}\n\
         a1.sources.h.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {cp}\na1.channels.c1.dataDirs = {data}\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.channel = c1\n",
        cp = root.join("cp").display(),
        data = root.join("data").display(),
        out = out.display(),
    )
}

/// POSTs two events to the http source and reads the answer's head; the connection, kept
/// open (idle) by the caller.
fn post_two_events(agent: &Proc, hport: u16) -> (TcpStream, BufReader<TcpStream>) {
    let http = connect(agent, hport);
    let mut hw = http.try_clone().unwrap();
    let mut hr = BufReader::new(http);
    let body = br#"[{"headers":{},"body":"http one"},{"body":"http two"}]"#;
    hw.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    hw.write_all(body).unwrap();
    let mut status = String::new();
    hr.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    loop {
        let mut l = String::new();
        hr.read_line(&mut l).unwrap();
        if l == "\r\n" {
            break;
        }
    }
    (hw, hr)
}

/// Waits until the five lines are out (the UDP one resent until it is).
fn wait_all_out(agent: &Proc, out: &Path, uport: u16) {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let want = ["http one", "http two", "tcp line", "tcp octet", "udp"];
    let end = Instant::now() + WAIT;
    loop {
        if !out_lines(out).iter().any(|l| l == "udp") {
            udp.send_to(b"<13>Oct 11 22:14:15 h udp", ("127.0.0.1", uport))
                .unwrap();
        }
        let mut got = out_lines(out);
        got.dedup();
        if want.iter().all(|w| got.iter().any(|l| l == w)) {
            return;
        }
        assert!(
            Instant::now() < end,
            "got {got:?}, want {want:?}; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn syslog_and_http_events_reach_file_roll_and_sigterm_ends_the_agent_with_idle_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let (tport, hport) = (free_port(), free_port());
    let uport = free_port();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let conf = net_conf(tmp.path(), (tport, uport, hport), &out);
    let mut agent = Proc::builder(tmp.path())
        .conf_text_as("a.properties", &conf)
        .log("agent.log")
        .arg("--no-reload-conf")
        .no_rust_log()
        .wait(WAIT)
        .spawn();

    let mut tcp = connect(&agent, tport);
    let octet = "<13>Oct 11 22:14:15 h tcp octet";
    tcp.write_all(format!("<13>Oct 11 22:14:15 h tcp line\n{} {octet}", octet.len()).as_bytes())
        .unwrap();
    let _http = post_two_events(&agent, hport);
    wait_all_out(&agent, &out, uport);
    // Both clients stay connected and idle while the agent is told to stop.
    let code = agent.terminate();
    assert_eq!(code, Some(0), "log:\n{}", agent.log_text());
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
}
