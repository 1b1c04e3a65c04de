//! Rows ClickHouse refuses for a value that does not parse: found by splitting, dead-lettered
//! naming the column and ClickHouse's message; the rest inserted once.

use std::time::{Duration, Instant};

use crate::edge::*;
use crate::support::agent_proc::counter;
use crate::support::clickhouse_support::{cluster, number, shared_turn, unique};
use crate::support::ports::free_port;

#[test]
fn fifty_bad_values_among_ten_thousand_go_to_the_dead_letter_and_the_rest_in_once() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("bad");
    c.create_replicated(
        &table,
        "body String, timestamp DateTime, svc String, sluice_id String, code UInt16 DEFAULT 0",
        "",
    );
    let port = free_port();
    // `code` from the line's second field: a number, or (every 200th line) not.
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "").replace(
        "e.sources.r1.interceptors = i1 i2\n",
        "e.sources.r1.interceptors = i1 i2 i3\ne.sources.r1.interceptors.i3.type = regex_extractor\n\
         e.sources.r1.interceptors.i3.regex = -([a-z0-9]+)$\n\
         e.sources.r1.interceptors.i3.serializers = s1\n\
         e.sources.r1.interceptors.i3.serializers.s1.name = code\n",
    );
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let lines: Vec<String> = (0..10_000)
        .map(|i| {
            let svc = if i % 2 == 0 { "web" } else { "db" };
            if i % 200 == 7 {
                format!("{svc}-{i:07}-bad")
            } else {
                format!("{svc}-{i:07}-{}", i % 1000)
            }
        })
        .collect();
    send(port, &lines);
    let good: Vec<String> = lines
        .iter()
        .filter(|l| !l.ends_with("-bad"))
        .cloned()
        .collect();
    assert_eq!(good.len(), 9_950);
    wait_rows(c.http(), &table, 9_950, &[&agent]);
    let end = Instant::now() + Duration::from_secs(60);
    while counter(agent.http, "SINK.k1", "EventDeadLetterCount") < 50 {
        assert!(
            Instant::now() < end,
            "dead letters: {}",
            counter(agent.http, "SINK.k1", "EventDeadLetterCount")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_exactly_once(c.http(), &table, &good);
    assert_eq!(number(c.http(), &format!("SELECT count() FROM default.{table} WHERE code != toUInt16(splitByChar('-', body)[3])")), 0);
    assert_eq!(counter(agent.http, "SINK.k1", "EventPoisonCount"), 50);
    let log = agent.proc.log_text();
    assert!(
        log.contains("column code UInt16"),
        "the poison names the column:\n{log}"
    );
    assert!(
        log.contains("Code 27") || log.contains("Code 72") || log.contains("Code 6"),
        "{log}"
    );
}

#[test]
fn an_unknown_enum_element_goes_to_the_dead_letter_as_a_bad_value_not_retried() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("badenum");
    c.create_replicated(
        &table,
        "body String, timestamp DateTime, svc String, sluice_id String, \
         level Enum8('info' = 1, 'warn' = 2) DEFAULT 'info'",
        "",
    );
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "").replace(
        "e.sources.r1.interceptors = i1 i2\n",
        "e.sources.r1.interceptors = i1 i2 i3\ne.sources.r1.interceptors.i3.type = regex_extractor\n\
         e.sources.r1.interceptors.i3.regex = -([a-z]+)$\n\
         e.sources.r1.interceptors.i3.serializers = s1\n\
         e.sources.r1.interceptors.i3.serializers.s1.name = level\n",
    );
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    // Every 100th line's level is no element of the enum.
    let lines: Vec<String> = (0..2_000)
        .map(|i| {
            let svc = if i % 2 == 0 { "web" } else { "db" };
            let level = match i % 100 {
                13 => "loud",
                k if k % 2 == 0 => "info",
                _ => "warn",
            };
            format!("{svc}-{i:07}-{level}")
        })
        .collect();
    send(port, &lines);
    let good: Vec<String> = lines
        .iter()
        .filter(|l| !l.ends_with("-loud"))
        .cloned()
        .collect();
    assert_eq!(good.len(), 1_980);
    wait_rows(c.http(), &table, 1_980, &[&agent]);
    let end = Instant::now() + Duration::from_secs(60);
    while counter(agent.http, "SINK.k1", "EventDeadLetterCount") < 20 {
        assert!(
            Instant::now() < end,
            "dead letters: {}\n{}",
            counter(agent.http, "SINK.k1", "EventDeadLetterCount"),
            agent.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_exactly_once(c.http(), &table, &good);
    assert_eq!(
        number(
            c.http(),
            &format!("SELECT count() FROM default.{table} WHERE toString(level) != splitByChar('-', body)[3]")
        ),
        0
    );
    assert_eq!(counter(agent.http, "SINK.k1", "EventPoisonCount"), 20);
    let log = agent.proc.log_text();
    // 18.16's own words: LOGICAL_ERROR (49), "Unknown element 'loud' for type Enum8(...)".
    assert!(
        log.contains("column level Enum8") && log.contains("Code 49") && log.contains("loud"),
        "the poison names the column, the code and the value:\n{log}"
    );
}
