//! Kill -9 of an agent while a Java sink drains a file channel: every line the netcat source
//! acknowledged (committed to the file channel) reaches the sink's file once the agent runs
//! again; a take the sink had not committed when the agent died is taken again (duplicates
//! allowed, losses not).

use crate::support::agent_proc;
use crate::support::java_support;

use std::collections::BTreeSet;
use std::process::Command;

use agent_proc::Proc;
use java_support::*;

const LINES: usize = 3000;

fn lines_in(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn nothing_acknowledged_is_lost_when_the_agent_is_killed_while_a_java_sink_drains_a_file_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let src = java_files(&test_plugins().join("sluicetest"));
    plugin(&tmp.path().join("plugins.d"), "test", &src, &[], &[]);
    let port = free_port();
    let out = tmp.path().join("out.txt");
    let d = tmp.path().display();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {d}/ckpt\n\
         a1.channels.c1.dataDirs = {d}/data\n\
         a1.sinks.k1.type = sluicetest.FileSink\na1.sinks.k1.path = {}\n\
         a1.sinks.k1.batchSize = 20\na1.sinks.k1.delayMs = 20\na1.sinks.k1.channel = c1\n",
        out.display()
    );
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), agent_env(), Some(port));
    let sent: Vec<String> = (0..LINES).map(|i| format!("line-{i:05}")).collect();
    let status = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["send", "-H", "127.0.0.1", "-p", &port.to_string()])
        .args(&sent)
        .status()
        .unwrap();
    assert!(status.success(), "every line acknowledged");
    a.wait_until("the sink wrote some lines", || lines_in(&out).len() >= 200);
    a.kill9();
    let before = lines_in(&out).len();
    assert!(
        before < LINES,
        "the sink drained everything before the kill"
    );
    a.restart();
    a.wait_until("every acknowledged line reached the sink's file", || {
        let got: BTreeSet<String> = lines_in(&out).into_iter().collect();
        sent.iter().all(|l| got.contains(l))
    });
    assert_eq!(a.terminate(), Some(0));
}
