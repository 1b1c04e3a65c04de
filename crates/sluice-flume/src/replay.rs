//! Flume's replay (`ReplayHandler.replayLog`, the v2 logic it runs by default): the
//! checkpoint's queue, then every record after the checkpoint's write-order id, merged across
//! files and data directories in write order (`woid`, then transaction id, then take < put <
//! rollback < commit); a committed put transaction appends its puts (those the checkpoint
//! caught in flight first), a committed take transaction removes its takes, a rollback drops
//! the transaction, a take never committed leaves its event in place; finally the in-flight
//! takes of the checkpoint that no later commit finished return to the head, one by one.
//! Without a usable checkpoint every record of every file is replayed from an empty queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::PathBuf;

use super::checkpoint::FlumeCheckpoint;
use super::error::FlumeError;
use super::log::{LogFile, Next, Op, Record};
use super::queue::ReplayQueue;
use crate::invariant::hot_assert;

/// What the replay met, as Flume's `ReplayHandler` counts it, and what it did not apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Records read.
    pub read: u64,
    /// Records at or before the checkpoint, skipped.
    pub skipped: u64,
    /// Put, take, rollback and commit records applied.
    pub puts: u64,
    /// Take records applied.
    pub takes: u64,
    /// Rollback records.
    pub rollbacks: u64,
    /// Commit records.
    pub commits: u64,
    /// Records voided by Flume's integrity tool.
    pub voided: u64,
    /// Events taken in flight at the checkpoint, returned to the head.
    pub inflight_takes_returned: u64,
    /// Puts of transactions that never committed (never acknowledged), dropped.
    pub uncommitted_puts: u64,
    /// Committed takes of events not in the queue (Flume: "Duplicate messages will exist").
    pub unmatched_takes: u64,
    /// Files whose reading stopped at damage: (file, offset, why).
    pub stopped: Vec<(PathBuf, u64, String)>,
}

/// A transaction's records seen so far.
#[derive(Default)]
struct Txn {
    puts: Vec<u64>,
    takes: Vec<u64>,
}

/// The order Flume's merge gives records of the same write-order id and transaction.
fn op_rank(op: &Op) -> u8 {
    match op {
        Op::Take(_) => 0,
        Op::Put => 1,
        Op::Rollback => 2,
        Op::Commit(_) => 3,
    }
}

/// The pointer of a record in file `id`.
fn ptr_of(id: u32, offset: u64) -> u64 {
    (u64::from(id) << 32) | (offset & 0xFFFF_FFFF)
}

/// What the replay holds between records: Flume's queue, the open transactions, the puts the
/// checkpoint caught in flight, the transactions finished, and committed takes of events not
/// (yet) queued.
#[derive(Default)]
struct State {
    queue: ReplayQueue,
    txns: HashMap<i64, Txn>,
    inflight_puts: HashMap<i64, Vec<u64>>,
    finished: HashSet<i64>,
    pending_takes: HashMap<u64, u32>,
}

impl State {
    /// The state a replay after `checkpoint` (or from nothing) starts from.
    fn new(checkpoint: Option<&FlumeCheckpoint>) -> State {
        let mut st = State {
            queue: ReplayQueue::from_head(checkpoint.map_or(&[][..], |c| &c.queue)),
            ..State::default()
        };
        if let Some(c) = checkpoint {
            for (id, ptrs) in &c.inflight_puts {
                st.inflight_puts.entry(*id).or_default().extend(ptrs);
            }
        }
        st
    }

    /// Transaction `txid` committed: its takes leave the queue, or its puts (those in flight
    /// at the checkpoint first) join it.
    fn commit(&mut self, txid: i64, of_takes: bool) {
        let txn = self.txns.remove(&txid).unwrap_or_default();
        self.finished.insert(txid);
        if of_takes {
            for p in txn.takes {
                if !self.queue.remove(p) {
                    *self.pending_takes.entry(p).or_default() += 1;
                }
            }
            return;
        }
        let early = self.inflight_puts.remove(&txid).unwrap_or_default();
        for p in early.into_iter().chain(txn.puts) {
            match self.pending_takes.get_mut(&p) {
                Some(n) if *n > 0 => *n -= 1,
                _ => self.queue.add_tail(p),
            }
        }
    }

    /// The queue once every record is applied: the checkpoint's in-flight takes that no
    /// commit finished return to the head, one by one (Flume's `addHead`).
    fn finish(
        mut self,
        checkpoint: Option<&FlumeCheckpoint>,
        counts: &mut ReplayCounts,
    ) -> Vec<u64> {
        counts.uncommitted_puts = self.txns.values().map(|t| t.puts.len() as u64).sum::<u64>()
            + self
                .inflight_puts
                .values()
                .map(|p| p.len() as u64)
                .sum::<u64>();
        counts.unmatched_takes = self.pending_takes.values().map(|n| u64::from(*n)).sum();
        if let Some(c) = checkpoint {
            for (id, ptrs) in &c.inflight_takes {
                if self.finished.contains(id) {
                    continue;
                }
                for p in ptrs {
                    self.queue.add_head(*p);
                    counts.inflight_takes_returned += 1;
                }
            }
        }
        self.queue.into_vec()
    }
}

/// Replays `logs` on `checkpoint` (or from nothing); returns the queue, head first.
pub fn replay(
    logs: &[LogFile],
    checkpoint: Option<&FlumeCheckpoint>,
    counts: &mut ReplayCounts,
) -> Result<Vec<u64>, FlumeError> {
    let woid = checkpoint.map(|c| c.write_order_id);
    let mut st = State::new(checkpoint);
    // One head record per file, smallest (woid, txid, rank) first.
    let mut pos: Vec<u64> = logs.iter().map(|l| l.start_for(woid)).collect();
    let mut heads: Vec<Option<Record>> = vec![None; logs.len()];
    let mut heap = BinaryHeap::new();
    for (i, head) in heads.iter_mut().enumerate() {
        if let Some(r) = next_record(logs, &mut pos, i, counts)? {
            heap.push(Reverse((r.woid, r.txid, op_rank(&r.op), i)));
            *head = Some(r);
        }
    }
    while let Some(Reverse((_, _, _, i))) = heap.pop() {
        hot_assert!(
            heads[i].is_some(),
            "each heap entry is its file's head record"
        );
        let Some(r) = heads[i].take() else { continue };
        counts.read += 1;
        if woid.is_some_and(|w| r.woid <= w) {
            counts.skipped += 1;
        } else {
            apply(&r, logs[i].id, &mut st.txns, counts);
            if let Op::Commit(of_takes) = r.op {
                st.commit(r.txid, of_takes);
            }
        }
        if let Some(n) = next_record(logs, &mut pos, i, counts)? {
            heap.push(Reverse((n.woid, n.txid, op_rank(&n.op), i)));
            heads[i] = Some(n);
        }
    }
    Ok(st.finish(checkpoint, counts))
}

/// Applies a put, take or rollback record to its transaction and counts every record.
fn apply(r: &Record, file_id: u32, txns: &mut HashMap<i64, Txn>, counts: &mut ReplayCounts) {
    match r.op {
        Op::Put => {
            counts.puts += 1;
            txns.entry(r.txid)
                .or_default()
                .puts
                .push(ptr_of(file_id, r.offset));
        }
        Op::Take(p) => {
            counts.takes += 1;
            txns.entry(r.txid).or_default().takes.push(p);
        }
        Op::Rollback => {
            counts.rollbacks += 1;
            txns.remove(&r.txid);
        }
        Op::Commit(_) => counts.commits += 1,
    }
}

/// The next record of file `i` from `pos[i]`, skipping voided ones; `None` at its end or
/// at damage (counted in `stopped`).
fn next_record(
    logs: &[LogFile],
    pos: &mut [u64],
    i: usize,
    counts: &mut ReplayCounts,
) -> Result<Option<Record>, FlumeError> {
    loop {
        let (next, after) = logs[i].next_at(pos[i])?;
        hot_assert!(after >= pos[i], "a file's read position never moves back");
        pos[i] = after;
        match next {
            Next::Record(r) => return Ok(Some(r)),
            Next::Voided => counts.voided += 1,
            Next::End => return Ok(None),
            Next::Stopped(s) => {
                let why = s.why.to_string();
                counts.stopped.push((logs[i].path.clone(), s.offset, why));
                return Ok(None);
            }
        }
    }
}
