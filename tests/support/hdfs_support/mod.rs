//! What the `hdfs_cluster_*` tests share: the real HDFS cluster ([`cluster`]), the Flume
//! tutorial's three HDFS agent configurations (`tutorial/`, verbatim) with their NameNode,
//! ports and local paths pointed at this machine, and the agent-process and line helpers.
#![allow(dead_code)]

pub mod cluster;
pub mod datanode_loss;
pub mod fsshell;
pub mod site;

use crate::support::agent_proc;
#[allow(unused_imports)]
pub use agent_proc::{counter, logs_of, HttpAgent, Proc};

use crate::support::lines_support;
#[allow(unused_imports)]
pub use lines_support::{duplicates, lines, netcat_send};

use crate::support::ports;
pub use ports::free_port;
use std::collections::BTreeSet;
use std::path::Path;

pub use cluster::{cluster, exclusive_turn, local_text, shared_turn, Cluster};
pub use datanode_loss::{lost_with_the_datanodes_last_chunk, lost_with_the_datanodes_last_chunks};

/// The tutorial's configuration `file` (`05-flume-file-hdfs.properties`, ...), verbatim.
pub fn tutorial(file: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/hdfs_support/tutorial")
        .join(file);
    std::fs::read_to_string(&p).unwrap()
}

/// The tutorial's `hdfs://hadoop102:9000` replaced by the test cluster.
pub fn at_cluster(conf: &str, c: &Cluster) -> String {
    conf.replace("hdfs://hadoop102:9000", &c.url())
}

/// Lines of `text` that are in `want`, and how many of `want` are missing.
pub fn missing(want: &[String], got: &[String]) -> usize {
    let have: BTreeSet<&str> = got.iter().map(String::as_str).collect();
    want.iter().filter(|w| !have.contains(w.as_str())).count()
}

/// The events an agent's `/metrics` show for sink `k` (`EventDrainSuccessCount`).
pub fn drained(http: u16, sink: &str) -> u64 {
    counter(http, &format!("SINK.{sink}"), "EventDrainSuccessCount")
}
