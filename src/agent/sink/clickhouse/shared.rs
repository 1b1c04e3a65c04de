//! What the clickhouse sinks of one agent writing one table share: whether an INSERT of any
//! of them may have run without its answer. Sinks that take from one channel (Flume's way to
//! write faster) get each other's rolled-back takes: a take whose INSERT timed out on k2 and
//! ran anyway may come again to k1, whose ceilings never saw it. So an unknown outcome on one
//! makes each of them wait out the agent's running INSERTs and read back before it sends
//! again (`exactly.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The tables' counts of unknown outcomes, by server list and table.
static TABLES: LazyLock<Mutex<HashMap<String, Arc<AtomicU64>>>> = LazyLock::new(Mutex::default);

/// The count of INSERTs into one table whose outcome is unknown, shared by the agent's sinks
/// writing it; each sink reads back when it moved since its last read-back.
#[derive(Debug, Clone)]
pub(super) struct Unknowns(Arc<AtomicU64>);

impl Unknowns {
    /// The count for `table` (`db.table`) on the servers `urls`.
    pub(super) fn of(urls: &[String], table: &str) -> Unknowns {
        let key = format!("{}|{table}", urls.join(","));
        let mut tables = TABLES.lock().unwrap_or_else(|p| p.into_inner());
        Unknowns(tables.entry(key).or_default().clone())
    }

    /// One more INSERT whose outcome is unknown.
    pub(super) fn add(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The count now.
    pub(super) fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
