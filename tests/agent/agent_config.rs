//! Agent configuration: the Flume grammar, typed settings, and every kind of problem reported
//! with its line and full key.

use sluice::agent::config::{Origin, Severity};
use sluice::agent::registry::{ChannelKind, SinkKind, SourceKind};
use sluice::agent::topology::load;

const GOOD: &str = "\
# netcat -> file -> file_roll
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sinkgroups = g1

a1.sources.r1.type = org.apache.flume.source.NetcatSource
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port : 44444
a1.sources.r1.channels = c1 \\
                         c2
a1.sources.r1.selector.type = replicating
a1.sources.r1.selector.optional = c2
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = timestamp

a1.channels.c1.type = file
a1.channels.c1.checkpointDir = /tmp/ck
a1.channels.c1.dataDirs = /tmp/d1,/tmp/d2
a1.channels.c1.transactionCapacity = 1000
a1.channels.c2.type = MEMORY
a1.channels.c2.capacity 1000

a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = /tmp/out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k2.type = logger
a1.sinks.k2.channel = c1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.maxpenalty = 10000
";

/// Loads `text` and returns the problems as (severity, line, key, message).
fn problems(text: &str) -> Vec<(Severity, Origin, String, String)> {
    load(text, "a1", &[])
        .problems
        .into_iter()
        .map(|p| (p.severity, p.origin, p.key, p.message))
        .collect()
}

fn errors(text: &str) -> Vec<(usize, String, String)> {
    problems(text)
        .into_iter()
        .filter(|p| p.0 == Severity::Error)
        .map(|(_, o, k, m)| match o {
            Origin::Line(n) | Origin::FileLine { line: n, .. } => (n, k, m),
            Origin::CommandLine => (0, k, m),
        })
        .collect()
}

fn with(extra: &str) -> String {
    format!("{GOOD}{extra}")
}

#[test]
fn a_good_file_loads_into_typed_components() {
    let loaded = load(GOOD, "a1", &[]);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let cfg = loaded.config.unwrap();
    let r1 = &cfg.sources["r1"];
    assert_eq!(r1.channels, vec!["c1", "c2"]);
    match &r1.kind {
        SourceKind::Netcat(n) => {
            assert_eq!((n.bind.as_str(), n.port), ("127.0.0.1", 44444));
            assert_eq!(n.max_line_length, 512);
            assert!(n.ack_every_event);
        }
        other => panic!("expected netcat, got {other:?}"),
    }
    let sel = r1.selector.select(&sluice_core::Event::new("x"));
    assert_eq!(
        (sel.required, sel.optional),
        (vec!["c1".to_owned()], vec!["c2".to_owned()])
    );
    assert_eq!(r1.interceptors[0].kind, "timestamp");
    match &cfg.channels["c1"].kind {
        ChannelKind::File(f) => {
            assert_eq!(f.data_dirs.len(), 2);
            assert_eq!(f.transaction_capacity, 1000);
        }
        other => panic!("expected file, got {other:?}"),
    }
    match &cfg.channels["c2"].kind {
        ChannelKind::Memory(m) => assert_eq!((m.capacity, m.transaction_capacity), (1000, 100)),
        other => panic!("expected memory, got {other:?}"),
    }
    match &cfg.sinks["k1"].kind {
        SinkKind::FileRoll(f) => {
            assert_eq!(f.roll_interval, None);
            assert_eq!(f.batch_size, 100);
        }
        other => panic!("expected file_roll, got {other:?}"),
    }
    assert_eq!(cfg.sinkgroups["g1"].sinks, vec!["k1", "k2"]);
    assert!(matches!(
        cfg.sinkgroups["g1"].processor,
        sluice::agent::processor::SinkProcessorConfig::Failover(_)
    ));
}

#[test]
fn an_unknown_key_is_a_warning_naming_the_key() {
    let p = problems(&with("a1.sinks.k1.sink.colour = red\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, Severity::Warning);
    assert_eq!(p[0].1, Origin::Line(34));
    assert_eq!(p[0].2, "a1.sinks.k1.sink.colour");
    assert!(load(&with("a1.sinks.k1.sink.colour = red\n"), "a1", &[])
        .config
        .is_some());
}

#[test]
fn an_unknown_type_is_an_error_listing_the_supported_ones() {
    let e = errors(&GOOD.replace("type = logger", "type = hive"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1.as_str()), (28, "a1.sinks.k2.type"));
    assert!(e[0].2.contains("logger (org.apache.flume.sink.LoggerSink)"));
    assert!(e[0].2.contains("file_roll"));
}

#[test]
fn an_invalid_value_is_an_error_at_its_line() {
    let e = errors(&GOOD.replace("port : 44444", "port : 99999"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1.as_str()), (9, "a1.sources.r1.port"));
    let e = errors(&GOOD.replace("rollInterval = 0", "rollInterval = soon"));
    assert_eq!(
        (e[0].0, e[0].1.as_str()),
        (27, "a1.sinks.k1.sink.rollInterval")
    );
    let e = errors(&GOOD.replace("dataDirs = /tmp/d1,/tmp/d2", "dataDirs = /tmp/d1,/tmp/d1"));
    assert_eq!((e[0].0, e[0].1.as_str()), (19, "a1.channels.c1.dataDirs"));
}

#[test]
fn a_missing_required_key_is_an_error() {
    let e = errors(&GOOD.replace("a1.sources.r1.bind = 127.0.0.1\n", ""));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].1, "a1.sources.r1.bind");
    assert!(e[0].2.contains("missing"));
}

#[test]
fn dangling_references_are_errors() {
    let e = errors(&GOOD.replace("a1.sinks.k2.channel = c1", "a1.sinks.k2.channel = c7"));
    assert_eq!((e[0].0, e[0].1.as_str()), (29, "a1.sinks.k2.channel"));
    assert!(e[0].2.contains("c7"));
    let e = errors(&GOOD.replace("c1 \\", "c9 \\"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sources.r1.channels" && x.0 == 10));
    let e = errors(&GOOD.replace("g1.sinks = k1 k2", "g1.sinks = k1 k5"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sinkgroups.g1.sinks" && x.2.contains("k5")));
    let e = errors(&GOOD.replace("selector.optional = c2", "selector.optional = c3"));
    assert!(e.iter().any(|x| x.1 == "a1.sources.r1.selector.optional"));
    let e = errors(&GOOD.replace("priority.k1", "priority.k9"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sinkgroups.g1.processor.priority.k9"));
}

#[test]
fn a_sink_batch_larger_than_the_channel_transaction_capacity_is_an_error() {
    let e = errors(&with("a1.sinks.k1.sink.batchSize = 5000\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].0, e[0].1.as_str()),
        (34, "a1.sinks.k1.sink.batchSize")
    );
    assert!(e[0].2.contains("transactionCapacity 1000"));
}

#[test]
fn a_sink_in_two_groups_is_an_error() {
    let text = GOOD.replace("a1.sinkgroups = g1", "a1.sinkgroups = g1 g2")
        + "a1.sinkgroups.g2.sinks = k1\n";
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|x| x.1 == "a1.sinkgroups.g2.sinks" && x.2.contains("g1")),
        "{e:?}"
    );
}

#[test]
fn empty_values_and_keys_without_agent_are_errors() {
    let e = errors(&with("a1.sinks.k1.sink.batchSize =\nstray\n"));
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].1, "a1.sinks.k1.sink.batchSize");
    assert_eq!(e[1].1, "stray");
}

#[test]
fn a_wrong_agent_name_says_there_are_no_channels() {
    let loaded = load(GOOD, "agent7", &[]);
    assert!(loaded.config.is_none());
    assert!(loaded
        .problems
        .iter()
        .any(|p| p.message.contains("no channels")));
}

#[test]
fn command_line_overrides_win_and_are_reported_as_such() {
    let ov = vec![
        ("a1.sources.r1.port".to_owned(), "5555".to_owned()),
        ("a1.sinks.k2.maxBytesToLog".to_owned(), "x".to_owned()),
        ("flume.root.logger".to_owned(), "INFO,console".to_owned()),
    ];
    let loaded = load(GOOD, "a1", &ov);
    let p = &loaded.problems;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].origin, Origin::CommandLine);
    assert_eq!(
        p[0].render("f"),
        format!("f:-D: a1.sinks.k2.maxBytesToLog: {}", p[0].message)
    );
    let ov = &ov[..1];
    let cfg = load(GOOD, "a1", ov).config.unwrap();
    match &cfg.sources["r1"].kind {
        SourceKind::Netcat(n) => assert_eq!(n.port, 5555),
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_lists_are_errors_and_duplicate_keys_warnings() {
    let e = errors(&with("a1.sinks = k1\n"));
    assert!(e.iter().any(|x| x.1 == "a1.sinks" && x.0 == 34), "{e:?}");
    let p = problems(&with(
        "a1.sinks.k2.maxBytesToLog = 3\na1.sinks.k2.maxBytesToLog = 4\n",
    ));
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].0, p[0].1), (Severity::Warning, Origin::Line(35)));
}

#[test]
fn invalid_interceptor_settings_are_errors_at_their_key() {
    let text = with("a1.sources.r1.interceptors.i1.preserveExisting = maybe\n");
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].1, "a1.sources.r1.interceptors.i1.preserveExisting");
}

#[test]
fn unknown_interceptor_selector_and_processor_types_are_errors() {
    let e = errors(&GOOD.replace("i1.type = timestamp", "i1.type = morph"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sources.r1.interceptors.i1.type" && x.2.contains("regex_filter")));
    let e = errors(&GOOD.replace("selector.type = replicating", "selector.type = fancy"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sources.r1.selector.type" && x.2.contains("multiplexing")));
    let e = errors(&GOOD.replace("processor.type = failover", "processor.type = magic"));
    assert!(e
        .iter()
        .any(|x| x.1 == "a1.sinkgroups.g1.processor.type" && x.2.contains("load_balance")));
}
