//! kill -9 of the agent mid-insert in rounds: into a ReplicatedMergeTree, into one with
//! `replicated_deduplication_window = 1` (the window forgets the killed take's block before
//! it comes again), and into a plain MergeTree (no block deduplication at all): every line
//! once.

use std::time::Duration;

use crate::edge::*;
use crate::support::clickhouse_support::{cluster, shared_turn, unique};
use crate::support::ports::free_port;

/// Five rounds: the agent starts with a failpoint that holds its `round`-th answered INSERT
/// before the take commits, 1,000 lines go in, and it is killed (-9) there; every start after
/// the first must leave the held take out as already stored. Then a last agent drains it all.
fn kill_rounds(table: &str, url: &str, http: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = edge_conf(tmp.path(), url, port, table, "batchSize = 200");
    let want = two_services(0, 5000);
    let mut read_back = Vec::new();
    for (round, chunk) in want.chunks(1000).enumerate() {
        let fp = format!("clickhouse-sink-inserted:{}", round + 2);
        let mut agent = start_edge(tmp.path(), &conf, port, &[("SLUICE_FAILPOINT", &fp)]);
        send(port, chunk);
        agent
            .proc
            .wait_log("failpoint clickhouse-sink-inserted held");
        let log = agent.proc.log_text();
        agent.proc.kill9();
        if round > 0 && log.contains("left out events the table already holds") {
            read_back.push(round);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Each restart finds the killed agent's held take in the table and leaves it out; the log
    // is read when this round's hold is reached, which (rarely, about one run in ten) is before
    // that line is there, so the read-back is asserted over the rounds and exactly once at the end.
    assert!(!read_back.is_empty(), "no restart read a held take back");
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    wait_rows(http, table, want.len() as u64, &[&agent]);
    assert_exactly_once(http, table, &want);
}

#[test]
fn killing_the_agent_mid_insert_in_rounds_stores_every_line_once_in_a_replicated_table() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let table = unique("kill_rep");
    c.create_replicated(&table, COLUMNS, "");
    kill_rounds(&table, &c.url(), c.http());
}

#[test]
fn killing_the_agent_mid_insert_in_rounds_stores_every_line_once_in_a_plain_merge_tree() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let table = unique("kill_plain");
    c.create_plain(&table, COLUMNS, "sluice_id");
    kill_rounds(&table, &format!("http://127.0.0.1:{}", c.http()), c.http());
}

#[test]
fn a_take_inserted_then_killed_is_not_stored_again_beyond_a_one_block_window() {
    let Some(c) = cluster() else { return };
    let _turn = shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("window1");
    c.create_replicated(&table, COLUMNS, "replicated_deduplication_window = 1");
    let port = free_port();
    let conf = edge_conf(tmp.path(), &c.url(), port, &table, "batchSize = 100");
    // The third INSERT is answered and held before its take commits: the kill leaves the
    // take in the channel, and more blocks go in (by a second writer) before it comes again.
    let agent = start_edge(
        tmp.path(),
        &conf,
        port,
        &[("SLUICE_FAILPOINT", "clickhouse-sink-inserted:3")],
    );
    let want = two_services(0, 1000);
    send(port, &want);
    agent
        .proc
        .wait_log("failpoint clickhouse-sink-inserted held");
    let mut agent = agent;
    agent.proc.kill9();
    for k in 0..3 {
        crate::support::clickhouse_support::query_ok(
            c.http(),
            &format!("INSERT INTO default.{table} (body, svc, sluice_id) VALUES ('other-{k}', 'other', 'other-{k}')"),
        );
    }
    let agent = start_edge(tmp.path(), &conf, port, &[]);
    let mut all = want.clone();
    all.extend((0..3).map(|k| format!("other-{k}")));
    wait_rows(c.http(), &table, all.len() as u64, &[&agent]);
    std::thread::sleep(Duration::from_secs(2));
    let log = agent.proc.log_text();
    let t = format!("default.{table}");
    let dups = crate::support::clickhouse_support::query_ok(
        c.http(),
        &format!(
            "SELECT body, count() AS n FROM {t} GROUP BY body HAVING n > 1 LIMIT 5 FORMAT TSV"
        ),
    );
    assert!(dups.is_empty(), "stored twice: {dups}\n{log}");
    assert!(
        log.contains("left out events the table already holds"),
        "{log}"
    );
    assert_eq!(
        crate::support::clickhouse_support::number(c.http(), &format!("SELECT count() FROM {t}")),
        all.len() as u64
    );
}
