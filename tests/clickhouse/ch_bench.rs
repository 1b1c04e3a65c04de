//! A measurement, not a timed test (run it with `--ignored --nocapture`): rows per second and
//! CPU per row of spooldir -> file channel (fsync) -> clickhouse sink into a MergeTree, against
//! ClickHouse's own `clickhouse-client` inserting the same rows as JSONEachRow with
//! `max_insert_block_size` = the sink's `batchSize`; 200 B and 1 KiB bodies, medians of 3
//! rounds. Prints a table for docs/performance.md; asserts only that every row arrived.
//!
//! Each round also runs the same agent with a `null` sink in place of the clickhouse sink: the
//! agent's floor (source, interceptors, file channel with its fsync, a take), which no work in
//! the sink can go below.
//!
//! The agent takes `svc` from each line with a regex interceptor (what a user runs); the
//! client's rows carry it ready-made. `SLUICE_BENCH_NO_REGEX=1` leaves the interceptor out
//! (the `svc` column then keeps its default), to see what that extraction costs.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::edge::COLUMNS;
use crate::support::agent_proc::{children_cpu_s, counter, HttpAgent};
use crate::support::clickhouse_support::{cluster, exclusive_turn, number, query_ok, unique};
use crate::support::ports::free_port;

const BATCH: usize = 10_000;

fn lines(n: usize, body: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let svc = if i % 2 == 0 { "web" } else { "db" };
            let mut l = format!("{svc}-{i:09}-");
            while l.len() < body {
                l.push('x');
            }
            l
        })
        .collect()
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// (rows/s, CPU µs per row) of the agent, into the table, or with `null` into a null sink.
fn agent_round(http: u16, url: &str, body: usize, n: usize, null: bool) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("bench_sluice");
    query_ok(
        http,
        &format!("CREATE TABLE default.{table} ({COLUMNS}) ENGINE = MergeTree ORDER BY sluice_id"),
    );
    let spool = tmp.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let r = tmp.path().display();
    let interceptors = if std::env::var_os("SLUICE_BENCH_NO_REGEX").is_some() {
        "i2"
    } else {
        "i1 i2"
    };
    let conf = format!(
        "e.sources = r1\ne.channels = c1\ne.sinks = k1\n\
         e.sources.r1.type = spooldir\ne.sources.r1.spoolDir = {s}\ne.sources.r1.channels = c1\n\
         e.sources.r1.batchSize = {BATCH}\ne.sources.r1.deserializer.maxLineLength = 4096\ne.sources.r1.pollDelay = 50\n\
         e.sources.r1.interceptors = {interceptors}\ne.sources.r1.interceptors.i1.type = regex_extractor\n\
         e.sources.r1.interceptors.i1.regex = ^([a-z]+)-\n\
         e.sources.r1.interceptors.i1.serializers = s1\n\
         e.sources.r1.interceptors.i1.serializers.s1.name = svc\n\
         e.sources.r1.interceptors.i2.type = timestamp\n\
         e.channels.c1.type = file\ne.channels.c1.checkpointDir = {r}/ck\n\
         e.channels.c1.dataDirs = {r}/data\ne.channels.c1.minimumRequiredSpace = 1048576\n\
         e.channels.c1.capacity = 2000000\ne.channels.c1.transactionCapacity = {BATCH}\n\
         e.sinks.k1.channel = c1\ne.sinks.k1.batchSize = {BATCH}\n{sink}",
        s = spool.display(),
        sink = if null {
            "e.sinks.k1.type = null\n".to_owned()
        } else {
            format!("e.sinks.k1.type = clickhouse\ne.sinks.k1.url = {url}\ne.sinks.k1.table = {table}\n")
        }
    );
    let agent = HttpAgent::spawn(
        tmp.path(),
        "e",
        &conf,
        vec!["--no-reload-conf".into()],
        free_port(),
        None,
    );
    let done = |n: u64| {
        if null {
            counter(agent.http, "SINK.k1", "EventDrainSuccessCount") >= n
        } else {
            number(http, &format!("SELECT count() FROM default.{table}")) >= n
        }
    };
    agent.proc.wait_log("agent started");
    let cpu0 = cpu_s(agent.proc.pid());
    let staged = tmp.path().join("lines.txt");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&staged).unwrap());
    for l in lines(n, body) {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let start = Instant::now();
    std::fs::rename(&staged, spool.join("lines.txt")).unwrap();
    let end = start + Duration::from_secs(300);
    while !done(n as u64) {
        assert!(Instant::now() < end, "{table}: not all rows in 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_s(agent.proc.pid()) - cpu0;
    (n as f64 / secs, cpu / n as f64 * 1e6)
}

/// (rows/s, CPU µs per row) of `clickhouse-client` inserting the same rows.
fn client_round(http: u16, tcp: u16, body: usize, n: usize) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let table = unique("bench_client");
    query_ok(
        http,
        &format!("CREATE TABLE default.{table} ({COLUMNS}) ENGINE = MergeTree ORDER BY sluice_id"),
    );
    let file = tmp.path().join("rows.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (i, l) in lines(n, body).iter().enumerate() {
        let svc = l.split('-').next().unwrap();
        writeln!(f, "{{\"body\":\"{l}\",\"timestamp\":\"{ts}\",\"svc\":\"{svc}\",\"sluice_id\":\"00000000000000aa:{}\"}}", i + 1).unwrap();
    }
    drop(f);
    let cpu0 = children_cpu_s();
    let start = Instant::now();
    let out = std::process::Command::new("clickhouse-client")
        .args(["--host", "127.0.0.1", "--port", &tcp.to_string()])
        .arg(format!("--max_insert_block_size={BATCH}"))
        .args([
            "--query",
            &format!("INSERT INTO default.{table} FORMAT JSONEachRow"),
        ])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs = start.elapsed().as_secs_f64();
    let cpu = children_cpu_s() - cpu0;
    assert_eq!(
        number(http, &format!("SELECT count() FROM default.{table}")),
        n as u64
    );
    (n as f64 / secs, cpu / n as f64 * 1e6)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
#[ignore = "a measurement: cargo test --release --test clickhouse bench -- --ignored --nocapture"]
fn bench_rows_per_second_against_clickhouse_client() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let http = c.http();
    let url = format!("http://127.0.0.1:{http}");
    println!("| body | rows | sluice rows/s | client rows/s | ratio | sluice CPU µs/row | client CPU µs/row | CPU ratio | floor (null sink) rows/s | floor CPU µs/row | floor ÷ client CPU |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (body, n) in [(200usize, 200_000usize), (1024, 100_000)] {
        let (mut sr, mut sc, mut cr, mut cc) = (vec![], vec![], vec![], vec![]);
        let (mut fr, mut fc) = (vec![], vec![]);
        for _ in 0..3 {
            let (r, cpu) = agent_round(http, &url, body, n, false);
            sr.push(r);
            sc.push(cpu);
            let (r, cpu) = agent_round(http, &url, body, n, true);
            fr.push(r);
            fc.push(cpu);
            let (r, cpu) = client_round(http, c.servers[0].tcp, body, n);
            cr.push(r);
            cc.push(cpu);
        }
        let (sr, sc, cr, cc) = (median(sr), median(sc), median(cr), median(cc));
        let (fr, fc) = (median(fr), median(fc));
        println!(
            "| {body} B | {n} | {sr:.0} | {cr:.0} | {:.2} | {sc:.2} | {cc:.2} | {:.2} | {fr:.0} | {fc:.2} | {:.2} |",
            sr / cr,
            sc / cc,
            fc / cc
        );
    }
}

#[test]
#[ignore = "a measurement: cargo test --release --test clickhouse bench -- --ignored --nocapture"]
fn bench_read_back_on_ten_million_rows() {
    let Some(c) = cluster() else { return };
    let _turn = exclusive_turn();
    let http = c.http();
    let table = unique("bench_readback");
    query_ok(
        http,
        &format!("CREATE TABLE default.{table} ({COLUMNS}) ENGINE = MergeTree ORDER BY sluice_id"),
    );
    // 10 M rows of 10 origins, ids 1..1,000,000 each.
    query_ok(
        http,
        &format!(
            "INSERT INTO default.{table} (body, svc, sluice_id) SELECT concat('line-', toString(number)), 'web', \
             concat('00000000000000', hex(toUInt8(number % 10)), ':', toString(intDiv(number, 10) + 1)) FROM system.numbers LIMIT 10000000"
        ),
    );
    query_ok(http, &format!("OPTIMIZE TABLE default.{table} FINAL"));
    // The sink's two read-back queries (exactly.rs), as it sends them after a restart.
    let ceiling = format!(
        "SELECT substring(sluice_id, 1, 16) AS o, max(toUInt64OrZero(arrayElement(splitByChar('-', substring(sluice_id, 18)), -1))) FROM `default`.`{table}` WHERE substring(sluice_id, 1, 16) IN ('0000000000000003') GROUP BY o FORMAT TabSeparated"
    );
    let ids: Vec<String> = (999_001..=1_000_000)
        .map(|s| format!("'0000000000000003:{s}'"))
        .collect();
    let lookup = format!(
        "SELECT sluice_id FROM `default`.`{table}` WHERE sluice_id IN ({}) FORMAT TabSeparated",
        ids.join(",")
    );
    for (what, sql) in [
        ("ceiling (GROUP BY, 1 origin)", &ceiling),
        ("exact lookup (1,000 ids)", &lookup),
    ] {
        let mut t = vec![];
        let mut out = String::new();
        for _ in 0..3 {
            let s = Instant::now();
            out = query_ok(http, sql);
            t.push(s.elapsed().as_secs_f64());
        }
        println!(
            "read-back on 10 M rows, {what}: median {:.3} s ({} lines answered)",
            median(t),
            out.lines().count()
        );
    }
}
