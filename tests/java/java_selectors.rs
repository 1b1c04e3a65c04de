//! A user's Java `ChannelSelector` and `SinkProcessor` (issue 67) on a real JVM, and
//! `config check` of the Java classes an interceptor, a serializer, a selector and a sink
//! processor name.

use crate::support::java_support;
use crate::support::lines_support::{netcat_send, written};

use std::process::Command;

use java_support::*;

#[test]
fn a_java_selector_chooses_each_events_channels_and_sluice_puts_it_there_once() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = tmp.path().join("plugins.d");
    plugin(
        &plugins_d,
        "sel",
        &java_files(&test_plugins().join("selectors")),
        &[],
        &[],
    );
    let port = free_port();
    let d = tmp.path().display();
    // `short` names c1 twice and `audit` names c1 too: c1 gets each short line once (required)
    // and each long one once (optional).
    let mut conf = format!(
        "a1.sources = r1\na1.channels = c1 c2 c3\na1.sinks = k1 k2 k3\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1 c2 c3\n\
         a1.sources.r1.selector.type = sluicetest.sel.ByLength\n\
         a1.sources.r1.selector.limit = 8\na1.sources.r1.selector.short = c1 c1\n\
         a1.sources.r1.selector.long = c2\na1.sources.r1.selector.audit = c3 c1\n"
    );
    for i in 1..=3 {
        conf.push_str(&format!(
            "a1.channels.c{i}.type = memory\n\
             a1.sinks.k{i}.type = file_roll\na1.sinks.k{i}.channel = c{i}\n\
             a1.sinks.k{i}.sink.directory = {d}/out{i}\na1.sinks.k{i}.sink.rollInterval = 0\n"
        ));
    }
    let mut a = java_agent(tmp.path(), &conf, &plugins_d, Some(port));
    let lines: Vec<String> = (0..600)
        .map(|i| {
            if i % 3 == 0 {
                format!("s{i}")
            } else {
                format!("long-line-{i:06}")
            }
        })
        .collect();
    assert_eq!(netcat_send(port, &lines), lines.len(), "{}", a.log_text());
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let short: Vec<String> = sorted(lines.iter().filter(|l| l.len() < 8).cloned().collect());
    let long: Vec<String> = sorted(lines.iter().filter(|l| l.len() >= 8).cloned().collect());
    let out = |i: usize| tmp.path().join(format!("out{i}"));
    a.wait_until("every line where the selector sent it", || {
        written(&out(1)).len() >= short.len()
            && written(&out(2)).len() >= long.len()
            && written(&out(3)).len() >= lines.len()
            && written(&out(1)).len() >= lines.len()
    });
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let all = sorted(lines.clone());
    assert_eq!(sorted(written(&out(1))), all);
    assert_eq!(sorted(written(&out(2))), long);
    assert_eq!(sorted(written(&out(3))), all);
}

#[test]
fn config_check_names_each_java_interceptor_serializer_selector_and_processor_it_cannot_load() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("plugins.d/empty/lib")).unwrap();
    let conf = tmp.path().join("a1.properties");
    std::fs::write(
        &conf,
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = 1\na1.sources.r1.channels = c1\n\
         a1.sources.r1.interceptors = i1\n\
         a1.sources.r1.interceptors.i1.type = com.example.NoSuchInterceptor$Builder\n\
         a1.sources.r1.selector.type = com.example.NoSuchSelector\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = /tmp\n\
         a1.sinks.k1.sink.serializer = org.apache.flume.Context\n\
         a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1\n\
         a1.sinkgroups.g1.processor.type = com.example.NoSuchProcessor\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&conf)
        .env("SLUICE_JAVA_CACHE", cache())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for want in [
        "a1.sources.r1.interceptors.i1.type: error: Java class \
         com.example.NoSuchInterceptor$Builder cannot be used: \
         java.lang.ClassNotFoundException: com.example.NoSuchInterceptor$Builder",
        "a1.sources.r1.selector.type: error: Java class com.example.NoSuchSelector cannot be \
         used: java.lang.ClassNotFoundException: com.example.NoSuchSelector",
        "a1.sinkgroups.g1.processor.type: error: Java class com.example.NoSuchProcessor cannot \
         be used: java.lang.ClassNotFoundException: com.example.NoSuchProcessor",
        // A class that loads but is not a serializer's builder.
        "a1.sinks.k1.sink.serializer: error: Java class org.apache.flume.Context cannot be \
         used: is not a org.apache.flume.serialization.EventSerializer$Builder",
    ] {
        assert!(stdout.contains(want), "{want}\n{stdout}");
    }
}

#[test]
fn a_java_sink_processor_drives_sluices_sinks_and_skips_one_that_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = tmp.path().join("plugins.d");
    plugin(
        &plugins_d,
        "proc",
        &java_files(&test_plugins().join("processors")),
        &[],
        &[],
    );
    // k3's directory lies under a regular file: every delivery to it fails.
    std::fs::write(tmp.path().join("not-a-dir"), b"").unwrap();
    let port = free_port();
    let d = tmp.path().display();
    let mut conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1 k2 k3\na1.sinkgroups = g1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {d}/ckpt\n\
         a1.channels.c1.dataDirs = {d}/data\n\
         a1.sinkgroups.g1.sinks = k1 k2 k3\n\
         a1.sinkgroups.g1.processor.type = sluicetest.proc.RoundRobin\n\
         a1.sinkgroups.g1.processor.first = 2\n\
         a1.sinks.k3.type = file_roll\na1.sinks.k3.channel = c1\n\
         a1.sinks.k3.sink.directory = {d}/not-a-dir/out3\n"
    );
    for i in 1..=2 {
        conf.push_str(&format!(
            "a1.sinks.k{i}.type = file_roll\na1.sinks.k{i}.channel = c1\n\
             a1.sinks.k{i}.sink.batchSize = 10\n\
             a1.sinks.k{i}.sink.directory = {d}/out{i}\na1.sinks.k{i}.sink.rollInterval = 0\n"
        ));
    }
    let mut a = java_agent(tmp.path(), &conf, &plugins_d, Some(port));
    let lines: Vec<String> = (0..1000).map(|i| format!("line-{i:05}")).collect();
    for chunk in lines.chunks(100) {
        assert_eq!(netcat_send(port, chunk), chunk.len(), "{}", a.log_text());
    }
    let out = |i: usize| tmp.path().join(format!("out{i}"));
    a.wait_until("every line in k1's or k2's file", || {
        written(&out(1)).len() + written(&out(2)).len() >= lines.len()
    });
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    let (one, two) = (written(&out(1)), written(&out(2)));
    assert!(
        !one.is_empty() && !two.is_empty(),
        "{} and {}",
        one.len(),
        two.len()
    );
    let mut all = one;
    all.extend(two);
    all.sort();
    assert_eq!(all, lines, "every line once");
    let log = a.log_text();
    assert!(
        log.contains("delivery failed") && log.contains("k3"),
        "{log}"
    );
}
