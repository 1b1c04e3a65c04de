//! Failpoints: named places in the agent where a crash test can hold a running process, to
//! kill it there with `kill -9` (the dangerous moments between a poll, a channel commit and
//! an offset commit, or between a send and its acknowledgement).
//!
//! `SLUICE_FAILPOINT=NAME[:N]` in the agent's environment (read once) arms one failpoint: the
//! N-th time (default the first) the code passes `NAME`, [`hold`] logs
//! `failpoint NAME held (pass N)` at WARN and never returns, so the task that reached it stays
//! exactly there while the rest of the process goes on, until the test kills it. Unset (every
//! production run), a pass costs one check of a `OnceLock` that holds `None`.
//!
//! The names are constants here, so a test and the code agree on them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a failpoint.
pub const ENV: &str = "SLUICE_FAILPOINT";

/// kafka source: a batch was gathered from the broker, nothing of it is in the channel yet.
pub const KAFKA_SOURCE_GATHERED: &str = "kafka-source-gathered";
/// kafka source: the channel committed the batch; its offsets are not committed yet.
pub const KAFKA_SOURCE_CHANNEL_COMMITTED: &str = "kafka-source-channel-committed";
/// kafka source: the batch's offsets were committed to the broker; the next poll has not run.
pub const KAFKA_SOURCE_OFFSETS_COMMITTED: &str = "kafka-source-offsets-committed";
/// kafka sink: every record of a batch was handed to the producer; none is acknowledged yet.
pub const KAFKA_SINK_SENT: &str = "kafka-sink-sent";
/// kafka sink: the broker acknowledged every record of a batch; its take is not committed.
pub const KAFKA_SINK_ACKNOWLEDGED: &str = "kafka-sink-acknowledged";
/// nats sink: the stream stored a batch (its PubAck came); its take is not committed yet.
pub const NATS_SINK_STORED: &str = "nats-sink-stored";
/// clickhouse sink: ClickHouse answered an INSERT of a take; the take is not committed yet.
pub const CLICKHOUSE_SINK_INSERTED: &str = "clickhouse-sink-inserted";
/// nats source: the channel committed a batch; its messages are not acknowledged yet.
pub const NATS_SOURCE_CHANNEL_COMMITTED: &str = "nats-source-channel-committed";
/// hdfs sink: a batch is durable in its files (an S3 sink's may have rolled and uploaded
/// one); its take is not committed yet.
pub(crate) const HDFS_SINK_DELIVERED: &str = "hdfs-sink-delivered";

/// The armed failpoint: its name and the pass that holds.
#[derive(Debug)]
struct Armed {
    name: String,
    pass: u64,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var(ENV).ok()?;
            let (name, pass) = match spec.split_once(':') {
                Some((n, p)) => (n, p.trim().parse().ok().filter(|p| *p > 0)?),
                None => (spec.as_str(), 1),
            };
            Some(Armed {
                name: name.trim().to_owned(),
                pass,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Whether passing `name` now is the pass that holds (counts the pass).
fn triggers(name: &str) -> Option<u64> {
    let a = armed()?;
    if a.name != name {
        return None;
    }
    let pass = a.seen.fetch_add(1, Ordering::AcqRel) + 1;
    (pass == a.pass).then_some(pass)
}

/// Passes failpoint `name`: returns at once unless it is armed for this pass, in which case
/// it logs and never returns (cancel safe: nothing is held but the task itself).
pub(crate) async fn hold(name: &str) {
    if let Some(pass) = triggers(name) {
        tracing::warn!("failpoint {name} held (pass {pass})");
        std::future::pending::<()>().await;
    }
}
