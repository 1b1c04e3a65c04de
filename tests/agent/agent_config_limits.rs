//! Every numeric key has a range that `config check` enforces (naming the line, the key and
//! the range), and file channel directories that would collide at start are refused with
//! both lines named.

use std::process::Command;

use sluice::agent::config::{Origin, Severity};
use sluice::agent::topology::load;

const BASE: &str = "\
a1.sources = r1 r2 r3
a1.channels = c1 c2
a1.sinks = k1 k2 k3 k4
a1.sinkgroups = g1 g2
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 44444
a1.sources.r1.channels = c1
a1.sources.r2.type = seq
a1.sources.r2.channels = c1
a1.sources.r3.type = exec
a1.sources.r3.command = true
a1.sources.r3.channels = c1
a1.channels.c1.type = memory
a1.channels.c2.type = file
a1.channels.c2.checkpointDir = /nonexistent-sluice/ck
a1.channels.c2.dataDirs = /nonexistent-sluice/d
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c2
a1.sinks.k3.type = file_roll
a1.sinks.k3.channel = c1
a1.sinks.k3.sink.directory = /tmp/out
a1.sinks.k4.type = null
a1.sinks.k4.channel = c1
a1.sinkgroups.g1.sinks = k1
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g2.sinks = k3 k4
a1.sinkgroups.g2.processor.type = load_balance
";

/// The errors of `BASE` plus `extra` as (line, key, message).
fn errors(extra: &str) -> Vec<(usize, String, String)> {
    let text = format!("{BASE}{extra}");
    load(&text, "a1", &[])
        .problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| match p.origin {
            Origin::Line(n) | Origin::FileLine { line: n, .. } => (n, p.key, p.message),
            Origin::CommandLine => (0, p.key, p.message),
        })
        .collect()
}

const LAST_LINE: usize = 31;

#[test]
fn the_base_configuration_has_no_errors() {
    assert_eq!(errors(""), vec![]);
    assert_eq!(BASE.lines().count(), LAST_LINE - 1);
}

#[test]
fn every_numeric_key_out_of_range_is_an_error_naming_line_key_and_range() {
    // (component key prefix, key, a value past the top of its range)
    let cases = [
        ("sources.r1", "port", "65536"),
        ("sources.r1", "max-line-length", "67108865"),
        ("sources.r1", "maxConnections", "65537"),
        ("sources.r1", "maxConnections", "0"),
        ("sources.r2", "totalEvents", "9223372036854775808"),
        ("sources.r2", "batchSize", "1000001"),
        ("sources.r3", "restartThrottle", "86400001"),
        ("sources.r3", "batchTimeout", "86400001"),
        ("sources.r3", "batchSize", "0"),
        ("channels.c1", "capacity", "1000000001"),
        ("channels.c1", "transactionCapacity", "1000000001"),
        ("channels.c1", "keep-alive", "9223372036854775807"),
        ("channels.c1", "keep-alive", "99999999999"),
        ("channels.c1", "byteCapacity", "1125899906842625"),
        ("channels.c1", "byteCapacityBufferPercentage", "100"),
        ("channels.c2", "keep-alive", "9223372036854775807"),
        ("channels.c2", "keep-alive", "99999999999"),
        ("channels.c2", "capacity", "1000000001"),
        ("channels.c2", "transactionCapacity", "1000000001"),
        ("channels.c2", "checkpointInterval", "86400001"),
        ("channels.c2", "fsyncInterval", "86401"),
        ("channels.c2", "minimumRequiredSpace", "1125899906842625"),
        ("sinks.k1", "maxBytesToLog", "67108865"),
        ("sinks.k2", "batchSize", "1000001"),
        ("sinks.k3", "sink.rollInterval", "86401"),
        ("sinks.k3", "sink.batchSize", "1000001"),
        ("sinkgroups.g1", "processor.maxpenalty", "86400001"),
        ("sinkgroups.g2", "processor.selector.maxTimeOut", "86400001"),
    ];
    for (comp, key, value) in cases {
        let full = format!("a1.{comp}.{key}");
        let errs = errors(&format!("{full} = {value}\n"));
        assert!(
            errs.iter().any(|(line, k, m)| *line == LAST_LINE
                && *k == full
                && (m.contains("between") || m.contains("largest") || m.contains("port number"))),
            "{full} = {value}: {errs:?}"
        );
    }
}

#[test]
fn the_largest_values_in_range_are_accepted() {
    let extra = "\
a1.channels.c1.keep-alive = 86400
a1.channels.c1.capacity = 1000000000
a1.channels.c2.keep-alive = 86400
a1.channels.c2.fsyncInterval = 86400
a1.sources.r1.maxConnections = 65536
a1.sinks.k3.sink.rollInterval = 86400
";
    assert_eq!(errors(extra), vec![]);
}

fn dir_errors(text: &str) -> Vec<(usize, String, String)> {
    load(text, "a1", &[])
        .problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| match p.origin {
            Origin::Line(n) | Origin::FileLine { line: n, .. } => (n, p.key, p.message),
            Origin::CommandLine => (0, p.key, p.message),
        })
        .collect()
}

fn two_channels(ck1: &str, d1: &str, ck2: &str, d2: &str) -> String {
    format!(
        "\
a1.sources = r1
a1.channels = c1 c2
a1.sources.r1.type = seq
a1.sources.r1.channels = c1 c2
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {ck1}
a1.channels.c1.dataDirs = {d1}
a1.channels.c2.type = file
a1.channels.c2.checkpointDir = {ck2}
a1.channels.c2.dataDirs = {d2}
"
    )
}

#[test]
fn a_checkpoint_dir_equal_to_a_data_dir_is_an_error_naming_both_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display();
    let text = two_channels(
        &format!("{t}/a"),
        &format!("{t}/b,{t}/./a"),
        &format!("{t}/c"),
        &format!("{t}/d"),
    );
    let errs = dir_errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (line, key, msg) = &errs[0];
    assert_eq!(*line, 7);
    assert_eq!(key, "a1.channels.c1.dataDirs");
    assert!(
        msg.contains("is the same directory as checkpointDir") && msg.contains("line 6"),
        "{msg}"
    );
}

#[test]
fn a_data_dir_inside_the_checkpoint_dir_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display();
    let text = two_channels(
        &format!("{t}/a"),
        &format!("{t}/a/data"),
        &format!("{t}/c"),
        &format!("{t}/d"),
    );
    let errs = dir_errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].2.contains("is inside checkpointDir"), "{errs:?}");
}

#[test]
fn two_channels_sharing_a_directory_through_a_symlink_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let t = tmp.path().display();
    // c2's data dir does not exist yet: it is compared through its existing ancestor.
    let text = two_channels(
        &format!("{t}/ck1"),
        &format!("{t}/real/data"),
        &format!("{t}/ck2"),
        &format!("{t}/link/data"),
    );
    let errs = dir_errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (line, key, msg) = &errs[0];
    assert_eq!(*line, 10);
    assert_eq!(key, "a1.channels.c2.dataDirs");
    assert!(
        msg.contains("of channel c1") && msg.contains("line 7"),
        "{msg}"
    );
}

#[test]
fn separate_directories_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display();
    let text = two_channels(
        &format!("{t}/ck1"),
        &format!("{t}/d1,{t}/d1b"),
        &format!("{t}/ck2"),
        &format!("{t}/d2"),
    );
    assert_eq!(dir_errors(&text), vec![]);
}

#[test]
fn config_check_refuses_an_unbounded_keep_alive_with_line_key_and_range() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("a.conf");
    std::fs::write(
        &conf,
        format!("{BASE}a1.channels.c2.keep-alive = 9223372036854775807\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:{LAST_LINE}: a1.channels.c2.keep-alive: must be between 0 and 86400",
            conf.display()
        )),
        "{text}"
    );
}

#[test]
fn an_in_flight_budget_is_raised_to_hold_one_whole_frame_or_body_and_refused_below_it() {
    use sluice::agent::registry::SourceKind;
    let conf = |extra: &str| {
        format!(
            "a1.sources = r1 r2\na1.channels = c1\n\
             a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 1\n\
             a1.sources.r1.channels = c1\n\
             a1.sources.r2.type = http\na1.sources.r2.port = 2\na1.sources.r2.channels = c1\n\
             a1.channels.c1.type = memory\n{extra}"
        )
    };
    let budgets = |extra: &str| {
        let loaded = load(&conf(extra), "a1", &[]);
        let cfg = loaded
            .config
            .unwrap_or_else(|| panic!("{:?}", loaded.problems));
        let avro = match &cfg.sources["r1"].kind {
            SourceKind::Avro(a) => a.max_inflight_bytes,
            other => panic!("{other:?}"),
        };
        let http = match &cfg.sources["r2"].kind {
            SourceKind::Http(h) => (h.max_inflight_bytes, h.max_events_per_request),
            other => panic!("{other:?}"),
        };
        (avro, http)
    };
    assert_eq!(budgets(""), (256 << 20, (128 << 20, 100_000)));
    let (avro, (http, _)) = budgets(
        "a1.sources.r1.max-frame-size = 209715200\na1.sources.r2.maxBodyBytes = 104857600\n",
    );
    assert!(avro >= 400 << 20, "{avro}");
    assert_eq!(http, 200 << 20);
    let mut errs = load(
        &conf(
            "a1.sources.r1.max-inflight-bytes = 100000000\n\
             a1.sources.r2.maxInflightBytes = 20000000\n\
             a1.sources.r2.maxEventsPerRequest = 0\n",
        ),
        "a1",
        &[],
    )
    .problems
    .into_iter()
    .filter(|p| p.severity == Severity::Error)
    .map(|p| p.key)
    .collect::<Vec<_>>();
    errs.sort();
    assert_eq!(
        errs,
        vec![
            "a1.sources.r1.max-inflight-bytes",
            "a1.sources.r2.maxEventsPerRequest",
            "a1.sources.r2.maxInflightBytes",
        ]
    );
}
