//! The `clickhouse` sink (Sluice's own): each take's events become rows of one table, sent as
//! `INSERT INTO db.table FORMAT JSONEachRow` over ClickHouse's HTTP interface (`client.rs`),
//! which every server version keeps (Debian's 18.16 and today's alike).
//!
//! At start (`start.rs`) the sink checks the server, the user, the table and its columns
//! (`schema.rs`: matched by name or by `columns`), and refuses, naming what is wrong, a table
//! it cannot fill. Rows (`rows.rs`) are a pure function of the events. With a `sluice_id`
//! column the sink is exactly once (`exactly.rs`, docs/clickhouse.md): it reads back what the
//! table holds for ids that may be there and sends none of it again, also long after
//! ClickHouse's `replicated_deduplication_window`; without one it says at start that it is at
//! least once. A row ClickHouse refuses for a value is poison (dead-lettered with its column
//! and ClickHouse's message); every other failure rolls the take back, and `/health` names the
//! server and ClickHouse's code while it lasts (`ConnectionDownReason`).

mod client;
pub(crate) mod config;
mod exactly;
mod handoff;
mod json;
mod pool;
mod rows;
mod schema;
mod shared;
mod start;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub(crate) use config::ClickHouseConfig;

use super::{Acks, Delivery, Poisoned, SinkError, SinkErrorKind};
use crate::agent::channel::BoxFuture;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::nats::DownSince;
use crate::agent::stop::Stop;
use client::{ChClient, ChError};
use schema::Column;
use sluice_core::Event;

/// Least time between two log lines of the same reason the sink cannot start.
const REFUSAL_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The sink's own tallies, shown as gauges beside its counters.
#[derive(Debug, Default)]
struct Tally {
    rows: AtomicU64,
    bytes: AtomicU64,
    inserts: AtomicU64,
    already: AtomicU64,
}

impl Tally {
    /// One INSERT of `rows` rows and `bytes` bytes stored.
    fn inserted(&self, rows: usize, bytes: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.inserts.fetch_add(1, Ordering::Relaxed);
    }
}

/// One INSERT, ready to send: its SQL, its URL settings and its rows.
#[derive(Debug)]
pub(crate) struct InsertRequest {
    sql: String,
    settings: Vec<(&'static str, String)>,
    /// The rows: a slice of the take's row buffer (`rows.rs`), shared, not copied.
    body: bytes::Bytes,
    rows: usize,
}

impl InsertRequest {
    /// The URL settings, as [`ChClient::query`] takes them.
    fn params(&self) -> Vec<(&str, &str)> {
        self.settings
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }
}

/// One `clickhouse` sink.
pub(crate) struct ClickHouseSink {
    name: String,
    cfg: ClickHouseConfig,
    client: Option<ChClient>,
    columns: Vec<Column>,
    has_id_column: bool,
    /// What the server's INSERTs may carry.
    features: start::Features,
    /// Every INSERT's `query_id` starts with it ([`query_prefix`]).
    query_prefix: String,
    /// Per origin, the highest id the table holds as far as the sink knows.
    ceiling: HashMap<u64, u64>,
    /// An INSERT's outcome is unknown: read back before the next.
    uncertain: bool,
    /// Unknown outcomes of the agent's sinks into this table ([`shared`]), and the count
    /// when this sink last read back.
    unknowns: shared::Unknowns,
    unknowns_seen: u64,
    counters: Option<Arc<CounterGroup>>,
    tally: Arc<Tally>,
    down: DownSince,
    already_stored: u64,
    poisoned: Vec<Poisoned>,
    last_refusal: Option<(String, std::time::Instant)>,
    /// The INSERT of the last `deliver`, handed to the runner (`handoff.rs`).
    acks: Option<Acks>,
    /// How handed-over INSERTs ended.
    outcome: handoff::Outcome,
    /// Takes still to send within `deliver` after a refused row (`handoff::SERIAL_AFTER_BAD`).
    serial_left: u32,
    /// Row buffers given back after their INSERT, for the next takes.
    bufs: pool::BufPool,
}

impl std::fmt::Debug for ClickHouseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseSink")
            .field("name", &self.name)
            .field("table", &self.cfg.qualified())
            .finish_non_exhaustive()
    }
}

impl ClickHouseSink {
    /// A sink that checks its server at its first [`prepare`](Self::prepare).
    pub(crate) fn new(name: &str, cfg: ClickHouseConfig) -> Self {
        let query_prefix = query_prefix(&cfg, crate::agent::host_name::hostname());
        let unknowns = shared::Unknowns::of(&cfg.urls, &cfg.qualified());
        ClickHouseSink {
            name: name.to_owned(),
            cfg,
            client: None,
            columns: Vec::new(),
            has_id_column: false,
            features: start::Features::default(),
            query_prefix,
            ceiling: HashMap::new(),
            // A start may follow a crash mid-INSERT: read back first.
            uncertain: true,
            unknowns,
            unknowns_seen: 0,
            counters: None,
            tally: Arc::default(),
            down: DownSince::default(),
            already_stored: 0,
            poisoned: Vec::new(),
            last_refusal: None,
            acks: None,
            outcome: handoff::Outcome::default(),
            serial_left: 0,
            bufs: pool::BufPool::default(),
        }
    }

    fn count(&self, c: SinkCounter) {
        if let Some(g) = &self.counters {
            g.add(c, 1);
        }
    }

    /// An INSERT's outcome is unknown: this sink, and the agent's other sinks into the same
    /// table, read back before they send again.
    fn unknown_outcome(&mut self) {
        self.uncertain = true;
        self.unknowns.add();
    }

    fn client_url(&self) -> String {
        self.client
            .as_ref()
            .map_or_else(|| self.cfg.url(), |c| c.url().to_owned())
    }

    fn err_timeout(&self, why: String) -> SinkError {
        SinkError::new(self.name.clone(), SinkErrorKind::Timeout, why)
    }

    /// The sink's error for a failed query; marks the connection down with it (`/health`).
    fn fail(&mut self, e: ChError) -> SinkError {
        let kind = match &e {
            ChError::Connect { .. } => {
                self.count(SinkCounter::ConnectionFailed);
                SinkErrorKind::Connect
            }
            ChError::NoAnswer { .. } => SinkErrorKind::Timeout,
            _ => SinkErrorKind::Peer,
        };
        self.down.down_because(&e);
        SinkError::new(self.name.clone(), kind, e.to_string())
    }

    /// Runs a read query on every server of `url` that answers ([`ChClient::query_each`]);
    /// their answers as text, one after another.
    async fn read_all(&mut self, sql: &str) -> Result<String, SinkError> {
        let Some(c) = self.client.as_mut() else {
            return Err(SinkError::new(
                self.name.clone(),
                SinkErrorKind::Connect,
                "not started",
            ));
        };
        match c.query_each(sql).await {
            Ok(answers) => {
                let mut text = String::new();
                for b in answers {
                    text.push_str(&String::from_utf8_lossy(&b));
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                }
                Ok(text)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The INSERT of the rows `idx` as one block: a pure function of the rows but for its
    /// `query_id` (so a retried take is the same block byte for byte).
    ///
    /// A block whose rows carry no event id (a table without `sluice_id`, events without
    /// ids) is sent with the replicas' block deduplication off (`insert_deduplicate = 0`): two
    /// such blocks can be the same bytes and still be different events (the same line twice,
    /// one take each), and ClickHouse would store only the first. Such a sink is at least
    /// once, as it says at start. A block with an id in it is the same bytes only when it is
    /// the same events sent again: ClickHouse may drop that one.
    fn insert_request(&self, rows: &rows::Rows, idx: &[usize]) -> InsertRequest {
        let body = rows.body(idx);
        let query_id = format!("{}{}", self.query_prefix, uuid::Uuid::new_v4().simple());
        let mut settings = vec![("query_id", query_id)];
        settings.extend(
            self.features
                .insert_settings
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned())),
        );
        let anonymous = !self.has_id_column || idx.iter().all(|&i| rows.id(i).is_none());
        if anonymous {
            if self.features.skip_dedup {
                settings.push(("insert_deduplicate", "0".to_owned()));
            }
        } else if self.features.dedup_token {
            settings.push(("insert_deduplication_token", dedup_token(&body, idx.len())));
        }
        InsertRequest {
            sql: format!("INSERT INTO {} FORMAT JSONEachRow", self.cfg.qualified()),
            settings,
            body,
            rows: idx.len(),
        }
    }

    /// INSERTs the rows `idx` as one block.
    async fn insert(&mut self, rows: &rows::Rows, idx: &[usize]) -> Result<(), ChError> {
        let req = self.insert_request(rows, idx);
        let Some(c) = self.client.as_mut() else {
            return Err(ChError::Connect {
                url: self.cfg.url(),
                why: "not started".into(),
            });
        };
        c.query(&req.sql, &req.params(), Some(&req.body)).await?;
        self.down.up();
        self.tally.inserted(req.rows, req.body.len());
        self.bufs.give(req.body);
        Ok(())
    }

    /// Hands the INSERT of the rows `idx` to the runner (`handoff.rs`); `false` (nothing
    /// sent) when the sink is not started.
    fn hand_off(&mut self, rows: &rows::Rows, idx: &[usize]) -> bool {
        let Some(client) = self.client.clone() else {
            return false;
        };
        let req = self.insert_request(rows, idx);
        let h = handoff::HandOff {
            name: self.name.clone(),
            client,
            tally: self.tally.clone(),
            down: self.down.clone(),
            counters: self.counters.clone(),
            outcome: self.outcome.clone(),
            bufs: self.bufs.clone(),
            unknowns: self.unknowns.clone(),
        };
        self.acks = Some(h.send(req));
        true
    }

    /// Whether this take's INSERT may be handed to the runner: not while refused rows are
    /// being split off (`handoff::SERIAL_AFTER_BAD`).
    fn may_hand_off(&mut self) -> bool {
        if self.serial_left > 0 {
            self.serial_left -= 1;
            return false;
        }
        true
    }

    /// Checks the server and the table if not done yet. Cancel safe.
    async fn prepare(&mut self) -> Result<(), SinkError> {
        if self.client.is_some() {
            return Ok(());
        }
        match start::start(&self.cfg).await {
            Ok(s) => {
                self.count(SinkCounter::ConnectionCreated);
                let cols: Vec<String> = s
                    .columns
                    .iter()
                    .map(|c| format!("{} <- {}", c.name, c.source))
                    .collect();
                let (engine_settings, engine_warning) = start::engine_terms(&s.engine, &s.features);
                let exactly_once = s.has_id_column && engine_warning.is_none();
                tracing::info!(sink = %self.name, server = %s.client.url(), version = %s.version, table = %self.cfg.qualified(), engine = %s.engine, columns = %cols.join(", "), exactly_once, "table checked");
                if !s.has_id_column {
                    tracing::warn!(sink = %self.name, table = %self.cfg.qualified(), "the table has no sluice_id String column: delivery is at least once (a take sent again after a failure or a restart may be stored twice; docs/clickhouse.md)");
                }
                if let Some(w) = engine_warning {
                    tracing::warn!(sink = %self.name, table = %self.cfg.qualified(), "{w}");
                }
                self.columns = s.columns;
                self.has_id_column = s.has_id_column;
                self.features = s.features;
                self.features.insert_settings.extend(engine_settings);
                self.client = Some(s.client);
                self.down.up();
                Ok(())
            }
            Err(e) => {
                let kind = if e.is_connect() {
                    SinkErrorKind::Connect
                } else {
                    SinkErrorKind::Config
                };
                if kind == SinkErrorKind::Connect {
                    self.count(SinkCounter::ConnectionFailed);
                }
                self.refused(&e);
                Err(SinkError::new(self.name.clone(), kind, e.to_string()))
            }
        }
    }

    /// Logs why the sink cannot start: at once when the reason is new, else every
    /// [`REFUSAL_LOG_INTERVAL`].
    fn refused(&mut self, why: &dyn std::fmt::Display) {
        self.down.down_because(why);
        let why = why.to_string();
        let now = std::time::Instant::now();
        let quiet = self
            .last_refusal
            .as_ref()
            .is_some_and(|(w, at)| *w == why && now.duration_since(*at) < REFUSAL_LOG_INTERVAL);
        if !quiet {
            tracing::error!(sink = %self.name, "cannot deliver: {why}");
            self.last_refusal = Some((why, now));
        }
    }
}

impl super::Sink for ClickHouseSink {
    fn attach(&mut self, counters: Arc<CounterGroup>, _stop: Stop) {
        let down = self.down.clone();
        let tally = self.tally.clone();
        counters.set_gauges(Box::new(move || {
            let mut g = down.gauges();
            for (k, v) in [
                ("RowsInsertedCount", &tally.rows),
                ("BytesInsertedCount", &tally.bytes),
                ("InsertCount", &tally.inserts),
                ("RowsAlreadyStoredCount", &tally.already),
            ] {
                g.push((k, v.load(Ordering::Relaxed).to_string()));
            }
            g
        }));
        self.counters = Some(counters);
    }

    fn prepare(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(ClickHouseSink::prepare(self))
    }

    fn deliver(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<Delivery, SinkError>> {
        Box::pin(async move {
            self.poisoned.clear();
            self.already_stored = 0;
            self.acks = None;
            match self.outcome.take() {
                handoff::Ended::Fine => {}
                // Its take (and every later one) comes again: wait out the sink's running
                // INSERTs and read back before sending any of it.
                handoff::Ended::Failed => self.unknown_outcome(),
                handoff::Ended::BadRow => {
                    self.unknown_outcome();
                    self.serial_left = handoff::SERIAL_AFTER_BAD;
                }
            }
            self.prepare().await?;
            exactly::deliver(self, &events).await?;
            self.tally
                .already
                .fetch_add(self.already_stored, Ordering::Relaxed);
            Ok(Delivery::Done)
        })
    }

    fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }

    fn take_poisoned(&mut self) -> Vec<Poisoned> {
        std::mem::take(&mut self.poisoned)
    }

    fn take_already_stored(&mut self) -> u64 {
        std::mem::take(&mut self.already_stored)
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        if self.client.take().is_some() {
            self.count(SinkCounter::ConnectionClosed);
        }
        Box::pin(std::future::ready(()))
    }
}

/// The start of every `query_id` of this agent's INSERTs into the table,
/// `sluice-<db>.<table>-<host>-`: the same across restarts (the wait before a read-back must
/// see INSERTs a killed run left running) and for every sink of the agent (they take each
/// other's rolled-back takes, [`shared`]), another for another host's agents (whose INSERTs
/// a sink need not wait for). Characters other than letters, digits, `.`, `_` and `-` become
/// `_` (it is quoted in SQL).
fn query_prefix(cfg: &ClickHouseConfig, host: Option<String>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
                _ => '_',
            })
            .collect()
    };
    let host = host.unwrap_or_default();
    format!(
        "sluice-{}.{}-{}-",
        clean(&cfg.database),
        clean(&cfg.table),
        clean(&host)
    )
}

/// `insert_deduplication_token` of a block (22.2 and later): the first 128 bits of its rows'
/// SHA-256, their count and length, so a retried take carries the same token. With a token
/// ClickHouse drops a block by the token alone, so it must not be shared by two blocks that
/// differ (a 32-bit checksum would be, now and then, and drop one of them).
fn dedup_token(body: &[u8], rows: usize) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}-{rows}-{}", body.len())
}

impl super::BuildSink for ClickHouseConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn build(&self, name: &str) -> Box<dyn super::Sink> {
        Box::new(ClickHouseSink::new(name, self.clone()))
    }
}

#[cfg(test)]
mod tests;
