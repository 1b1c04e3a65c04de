//! One take into the table, exactly once (docs/clickhouse.md has the argument and a picture):
//!
//! 1. after a start, or after an INSERT whose outcome is unknown (no answer, a cut
//!    connection, ClickHouse's UNKNOWN_STATUS_OF_INSERT), the sink first waits until no
//!    INSERT of its own into the table still runs on the server (`system.processes`, by the
//!    `query_id` prefix every INSERT of the sink carries), then forgets what it knew;
//! 2. per origin of the take's ids it holds the **ceiling**: the highest id the table holds
//!    for it, read back once (`max` of the `sluice_id` column per origin) and raised by its own
//!    INSERTs. An id above its origin's ceiling is not in the table;
//! 3. an id at or below the ceiling may be (a take sent again after a crash, or ids that come
//!    out of order): those are looked up by their exact text (`WHERE sluice_id IN (...)`), and
//!    the ones found are not sent (`EventAlreadyStoredCount`);
//! 4. the rest go as INSERTs of at most `maxBatchBytes`, each a pure function of its events
//!    (a take of one INSERT is handed to the runner, `handoff.rs`, which commits it after 200):
//!    a retried take is the same block byte for byte, which a Replicated*MergeTree drops as a
//!    duplicate within `replicated_deduplication_window` even when step 3's read went to a
//!    replica that had not fetched it yet;
//! 5. an INSERT refused for a value that does not parse is split (at the row ClickHouse names,
//!    else in halves) until the refused rows are alone: they are poison, named with their
//!    column and ClickHouse's message; the rest is inserted.
//!
//! An event is left out only when its exact id was read back from the table, so no event is
//! lost; an event is sent twice only if the table held it and the read-back did not see it
//! (another writer of the same origin, or a replica behind), and then a Replicated table
//! drops the identical block within its window.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use sluice_core::dedup::IdSpan;
use sluice_core::Event;

use super::client::ChError;
use super::rows::{bad_value, refused_column, refused_row, Rows};
use super::ClickHouseSink;
use crate::agent::failpoint;
use crate::agent::sink::{Poisoned, SinkError};

/// Most ids looked up by one read-back query.
const LOOKUP_IDS_MAX: usize = 5_000;
/// Most origins whose ceilings the sink holds; past it they are forgotten and read again.
const HELD_CEILINGS_MAX: usize = 100_000;
/// How often the wait for a running INSERT asks the server.
const QUIESCE_POLL: Duration = Duration::from_millis(200);

/// Delivers `events` (see the module header).
pub(super) async fn deliver(sink: &mut ClickHouseSink, events: &[Event]) -> Result<(), SinkError> {
    let rows = Rows::encode(&sink.columns, events, sink.bufs.get());
    let sent = deliver_rows(sink, events, &rows).await;
    sink.bufs.give(rows.into_buf());
    sent
}

/// Delivers `events`, encoded as `rows`.
async fn deliver_rows(
    sink: &mut ClickHouseSink,
    events: &[Event],
    rows: &Rows,
) -> Result<(), SinkError> {
    let mut send: Vec<usize> = (0..rows.len()).collect();
    if sink.has_id_column {
        // Another sink of the agent into this table may have lost an answer (its take may be
        // this one): then read back too.
        let unknowns = sink.unknowns.now();
        if sink.uncertain
            || unknowns != sink.unknowns_seen
            || sink.ceiling.len() > HELD_CEILINGS_MAX
        {
            quiesce(sink).await?;
            sink.ceiling.clear();
        }
        let stored = stored(sink, rows).await?;
        sink.uncertain = false;
        sink.unknowns_seen = unknowns;
        if !stored.is_empty() {
            send.retain(|&i| rows.id(i).is_none_or(|s| !stored.contains(&s)));
            let skipped = rows.len() - send.len();
            sink.already_stored += skipped as u64;
            tracing::info!(sink = %sink.name, skipped, "left out events the table already holds (their INSERT ran before a failure or a restart; counted as EventAlreadyStoredCount)");
        }
    }
    let mut blocks = blocks(rows, &send, sink.cfg.batch_bytes_max);
    if blocks.len() == 1 && sink.may_hand_off() {
        if let Some(block) = blocks.pop() {
            if sink.hand_off(rows, &block) {
                raise_ceilings(sink, rows, &block);
                return Ok(());
            }
            blocks.push(block);
        }
    }
    for block in blocks {
        insert_splitting(sink, events, rows, block).await?;
    }
    Ok(())
}

/// Raises the ceilings to the ids of the rows `idx` (inserted, or on their way: a ceiling too
/// high only looks up more ids by their exact text).
fn raise_ceilings(sink: &mut ClickHouseSink, rows: &Rows, idx: &[usize]) {
    for &i in idx {
        if let Some(s) = rows.id(i) {
            let c = sink.ceiling.entry(s.origin).or_insert(0);
            *c = (*c).max(s.hi);
        }
    }
}

/// `send` cut into runs of at most `max` bytes (at least one row each).
fn blocks(rows: &Rows, send: &[usize], max: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    let mut bytes = 0usize;
    for &i in send {
        let n = rows.row(i).len();
        if !cur.is_empty() && bytes + n > max {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(i);
        bytes += n;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The ids of `rows` the table holds (read only for ids at or below their origin's ceiling).
async fn stored(sink: &mut ClickHouseSink, rows: &Rows) -> Result<HashSet<IdSpan>, SinkError> {
    let unknown: BTreeSet<u64> = rows
        .ids()
        .map(|s| s.origin)
        .filter(|o| !sink.ceiling.contains_key(o))
        .collect();
    if !unknown.is_empty() {
        read_ceilings(sink, &unknown).await?;
    }
    let doubtful: Vec<IdSpan> = rows
        .ids()
        .filter(|s| sink.ceiling.get(&s.origin).is_some_and(|c| s.hi <= *c))
        .collect();
    let mut found = HashSet::new();
    for chunk in doubtful.chunks(LOOKUP_IDS_MAX) {
        let mut sql = format!(
            "SELECT sluice_id FROM {} WHERE sluice_id IN (",
            sink.cfg.qualified()
        );
        for (k, s) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            sql.push('\'');
            sql.push_str(s.text().as_str());
            sql.push('\'');
        }
        sql.push_str(") FORMAT TabSeparated");
        let text = sink.read_all(&sql).await?;
        found.extend(text.lines().filter_map(IdSpan::parse));
    }
    Ok(found)
}

/// Reads the ceilings of `origins` (0 for an origin the table does not hold), at most
/// [`LOOKUP_IDS_MAX`] origins per query (a query stays far below the server's
/// `max_query_size`, 256 KiB by default).
async fn read_ceilings(
    sink: &mut ClickHouseSink,
    origins: &BTreeSet<u64>,
) -> Result<(), SinkError> {
    let all: Vec<u64> = origins.iter().copied().collect();
    let mut read = HashMap::new();
    for chunk in all.chunks(LOOKUP_IDS_MAX) {
        let list: Vec<String> = chunk.iter().map(|o| format!("'{o:016x}'")).collect();
        let sql = format!(
            "SELECT substring(sluice_id, 1, 16) AS o, max(toUInt64OrZero(arrayElement(splitByChar('-', substring(sluice_id, 18)), -1))) FROM {} WHERE substring(sluice_id, 1, 16) IN ({}) GROUP BY o FORMAT TabSeparated",
            sink.cfg.qualified(),
            list.join(",")
        );
        let text = sink.read_all(&sql).await?;
        highest(&text, &mut read);
    }
    // Every origin asked for is known only once every query answered.
    for o in origins {
        sink.ceiling.insert(*o, read.get(o).copied().unwrap_or(0));
    }
    Ok(())
}

/// Folds a ceilings answer (one line per origin per server) into `into`: the highest.
fn highest(text: &str, into: &mut HashMap<u64, u64>) {
    for line in text.lines() {
        let Some((o, hi)) = line.split_once('\t') else {
            continue;
        };
        if let (Ok(o), Ok(hi)) = (u64::from_str_radix(o, 16), hi.trim().parse::<u64>()) {
            let c = into.entry(o).or_insert(0);
            *c = (*c).max(hi);
        }
    }
}

/// Waits until no INSERT of this agent into its table runs on any server of `url` that
/// answers (one that lost its answer may still be writing, on the server the sink failed over
/// from too), for at most `requestTimeout`.
async fn quiesce(sink: &mut ClickHouseSink) -> Result<(), SinkError> {
    let sql = format!(
        "SELECT count() FROM system.processes WHERE startsWith(query_id, '{}') FORMAT TabSeparated",
        sink.query_prefix
    );
    let end = Instant::now() + sink.cfg.request_timeout;
    loop {
        let n = sink.read_all(&sql).await?;
        if n.lines().all(|l| l.trim() == "0") {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(sink.err_timeout(format!(
                "an INSERT of this sink into {} still runs at {} after requestTimeout; waiting for it before reading back what it stored",
                sink.cfg.qualified(),
                sink.client_url()
            )));
        }
        tokio::time::sleep(QUIESCE_POLL).await;
    }
}

/// Inserts the rows `idx`, splitting off rows ClickHouse refuses (poison).
async fn insert_splitting(
    sink: &mut ClickHouseSink,
    events: &[Event],
    rows: &Rows,
    idx: Vec<usize>,
) -> Result<(), SinkError> {
    // A stack of parts, the next one to send on top, so rows go in their order.
    let mut stack = vec![idx];
    while let Some(part) = stack.pop() {
        if part.is_empty() {
            continue;
        }
        match sink.insert(rows, &part).await {
            Ok(()) => {
                raise_ceilings(sink, rows, &part);
                failpoint::hold(failpoint::CLICKHOUSE_SINK_INSERTED).await;
            }
            Err(ChError::Server { code, message, .. }) if bad_value(code, &message) => {
                if let [i] = part[..] {
                    sink.poisoned.push(Poisoned {
                        event: events[i].clone(),
                        reason: poison_reason(sink, code, &message),
                    });
                    continue;
                }
                // The row ClickHouse names is alone next (those before it parsed); without
                // a row named, halves.
                match refused_row(&message).filter(|r| (1..=part.len()).contains(r)) {
                    Some(r) => {
                        stack.push(part[r..].to_vec());
                        stack.push(part[r - 1..r].to_vec());
                        stack.push(part[..r - 1].to_vec());
                    }
                    None => {
                        let (a, b) = part.split_at(part.len() / 2);
                        stack.push(b.to_vec());
                        stack.push(a.to_vec());
                    }
                }
            }
            Err(e) => {
                if !e.certainly_not_run() {
                    sink.unknown_outcome();
                }
                return Err(sink.fail(e));
            }
        }
    }
    Ok(())
}

/// Why ClickHouse refused a row: its column and type, and ClickHouse's message.
fn poison_reason(sink: &ClickHouseSink, code: u32, message: &str) -> String {
    let column = refused_column(message).map_or_else(
        || "a column".to_owned(),
        |c| {
            let ty = sink
                .columns
                .iter()
                .find(|x| x.name == c)
                .map_or("", |x| x.ty.as_str());
            format!("column {c} {ty}")
        },
    );
    format!(
        "ClickHouse at {} refused the row for {} of {}: Code {code}: {message}",
        sink.client_url(),
        column,
        sink.cfg.qualified()
    )
}

#[cfg(test)]
mod ceiling_tests {
    use super::highest;
    use std::collections::HashMap;

    #[test]
    fn the_ceiling_of_an_origin_is_the_highest_any_server_or_query_answered() {
        let mut got = HashMap::new();
        highest("00000000000000aa\t7\n00000000000000bb\t3\n", &mut got);
        highest(
            "00000000000000aa\t5\nnot a line\n00000000000000bb\t9\n",
            &mut got,
        );
        assert_eq!(got.get(&0xaa), Some(&7));
        assert_eq!(got.get(&0xbb), Some(&9));
        assert_eq!(got.len(), 2);
    }
}
