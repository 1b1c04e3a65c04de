//! What the clickhouse tests share: an edge agent (netcat -> file channel -> clickhouse sink,
//! `svc` taken from the line by a regex interceptor, `timestamp` by the timestamp
//! interceptor), the lines it is sent, the table they go to, and the checks on it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::agent_proc::{logs_of, HttpAgent};
use crate::support::clickhouse_support::{number, query_ok};
use crate::support::lines_support::netcat_send;
use crate::support::ports::free_port;

/// Longest wait for a table to hold every line.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(120);

/// The columns of the tests' tables.
pub const COLUMNS: &str =
    "body String, timestamp DateTime, svc String, sluice_id String, level UInt8 DEFAULT 0";

/// The edge agent's configuration: netcat on `port` into a file channel under `root`, the
/// clickhouse sink into `default.<table>` at `url` (`extra` lines appended to its keys).
pub fn edge_conf(root: &Path, url: &str, port: u16, table: &str, extra: &str) -> String {
    let mut s = format!(
        "e.sources = r1\ne.channels = c1\ne.sinks = k1\n\
         e.sources.r1.type = netcat\ne.sources.r1.bind = 127.0.0.1\n\
         e.sources.r1.port = {port}\ne.sources.r1.channels = c1\n\
         e.sources.r1.max-line-length = 4096\n\
         e.sources.r1.interceptors = i1 i2\ne.sources.r1.interceptors.i1.type = regex_extractor\n\
         e.sources.r1.interceptors.i1.regex = ^([a-z]+)-\n\
         e.sources.r1.interceptors.i1.serializers = s1\n\
         e.sources.r1.interceptors.i1.serializers.s1.name = svc\n\
         e.sources.r1.interceptors.i2.type = timestamp\n\
         e.channels.c1.type = file\ne.channels.c1.checkpointDir = {r}/ck\n\
         e.channels.c1.dataDirs = {r}/data\ne.channels.c1.minimumRequiredSpace = 1048576\n\
         e.channels.c1.capacity = 1000000\ne.channels.c1.transactionCapacity = 10000\n\
         e.sinks.k1.type = clickhouse\ne.sinks.k1.channel = c1\ne.sinks.k1.url = {url}\n\
         e.sinks.k1.table = {table}\ne.sinks.k1.batchSize = 1000\n\
         e.sinks.k1.requestTimeout = 10000\n",
        r = root.display()
    );
    for l in extra.lines() {
        s.push_str(&format!("e.sinks.k1.{l}\n"));
    }
    s
}

/// Starts the edge agent of `conf` (named `e`) with `env`, waiting for its netcat port.
pub fn start_edge(dir: &Path, conf: &str, port: u16, env: &[(&str, &str)]) -> HttpAgent {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let args = vec!["--no-reload-conf".to_owned()];
    HttpAgent::spawn_env(dir, "e", conf, args, env, free_port(), Some(port))
}

/// `n` lines, `web-…` and `db-…` alternating, numbered from `from`.
pub fn two_services(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            let svc = if i % 2 == 0 { "web" } else { "db" };
            format!("{svc}-{i:07}")
        })
        .collect()
}

/// Sends `lines` in chunks of 500; panics unless every line is answered `OK`.
pub fn send(port: u16, lines: &[String]) {
    for chunk in lines.chunks(500) {
        assert_eq!(netcat_send(port, chunk), chunk.len(), "netcat on {port}");
    }
}

/// Waits until `table` on the server at `http` holds at least `n` rows; the count.
pub fn wait_rows(http: u16, table: &str, n: u64, agents: &[&HttpAgent]) -> u64 {
    let end = Instant::now() + DELIVERY_WAIT;
    loop {
        let have = crate::support::clickhouse_support::query(
            http,
            &format!("SELECT count() FROM default.{table}"),
        )
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0);
        if have >= n {
            return have;
        }
        assert!(
            Instant::now() < end,
            "{table} holds {have} of {n} rows after {DELIVERY_WAIT:?}\n{}",
            logs_of(agents.iter().map(|a| &a.proc))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Asserts that `table` holds every line of `want` exactly once, each with an id of its own
/// and its `svc` column the line's prefix.
pub fn assert_exactly_once(http: u16, table: &str, want: &[String]) {
    // A moment for a duplicate still on its way to show.
    std::thread::sleep(Duration::from_secs(2));
    let t = format!("default.{table}");
    let dups = query_ok(
        http,
        &format!("SELECT body, count() AS n FROM {t} GROUP BY body HAVING n > 1 ORDER BY body LIMIT 5 FORMAT TSV"),
    );
    let count = number(http, &format!("SELECT count() FROM {t}"));
    assert!(
        dups.is_empty(),
        "{table}: lines stored twice (of {count} rows), e.g.\n{dups}"
    );
    let mut got: Vec<String> = query_ok(
        http,
        &format!("SELECT body FROM {t} ORDER BY body FORMAT TSV"),
    )
    .lines()
    .map(str::to_owned)
    .collect();
    let mut want = want.to_vec();
    want.sort();
    got.sort();
    let missing: Vec<&String> = want
        .iter()
        .filter(|l| got.binary_search(l).is_err())
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{table}: {} of {} lines missing, e.g. {missing:?}",
        want.len().saturating_sub(got.len()),
        want.len()
    );
    assert_eq!(got, want, "{table} holds exactly the lines sent");
    assert_eq!(
        number(http, &format!("SELECT uniqExact(sluice_id) FROM {t}")),
        want.len() as u64
    );
    assert_eq!(
        number(
            http,
            &format!("SELECT count() FROM {t} WHERE svc != splitByChar('-', body)[1]")
        ),
        0,
        "every row's svc column is its line's header"
    );
}
