//! Model test: random sequences of channel operations on the simulated file system, checked
//! step by step against a `VecDeque` model of the committed queue.
//!
//! Operations: put, take, commit, rollback, checkpoint, clean reopen, power loss between
//! operations, and a power loss at a chosen I/O operation inside a commit (whose outcome is
//! then ambiguous: the reopened queue must match the model with or without that commit).
//! With `fsyncPerTransaction = true`, after every crash and reopen the queue must equal the
//! model's committed queue: committed takes stay removed, takes in flight at the crash return.
//!
//! 64 cases by default; `SLUICE_LONG=1` runs 2,000. Failures are shrunk by proptest and kept
//! in `tests/storage/model.proptest-regressions`.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::common::{config_under, ev, long_runs, peek_all};
use proptest::prelude::*;
use sluice_core::io::{Fault, SimFs};
use sluice_core::{Cached, Event, FileChannel, FileChannelConfig, Transaction};

#[derive(Clone, Debug)]
enum Op {
    /// Put this many events in the open transaction.
    Put(u8),
    /// Take up to this many events in the open transaction.
    Take(u8),
    /// The same through `take_cached` (then `take` where it answers `Later`).
    TakeCached(u8),
    Commit,
    Rollback,
    Checkpoint,
    /// Close and reopen without a crash.
    Reopen,
    /// Power loss between operations, then reopen; the seed picks the crash image.
    Crash(u64),
    /// Commit with a power loss at the k-th I/O operation from now, then reopen.
    CrashInCommit(u8, u64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u8..6).prop_map(Op::Put),
        5 => (1u8..6).prop_map(Op::Take),
        3 => (1u8..6).prop_map(Op::TakeCached),
        5 => Just(Op::Commit),
        2 => Just(Op::Rollback),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
        1 => any::<u64>().prop_map(Op::Crash),
        2 => (0u8..8, any::<u64>()).prop_map(|(k, s)| Op::CrashInCommit(k, s)),
    ]
}

/// The model: the committed queue and the open transaction's lists.
#[derive(Default)]
struct Model {
    queue: VecDeque<String>,
    puts: Vec<String>,
    takes: Vec<String>,
}

impl Model {
    fn commit(&mut self) {
        self.queue.extend(self.puts.drain(..));
        self.takes.clear();
    }

    fn rollback(&mut self) {
        self.puts.clear();
        for body in self.takes.drain(..).rev() {
            self.queue.push_front(body);
        }
    }

    fn committed_if_commit(&self) -> Vec<String> {
        let mut q: Vec<String> = self.queue.iter().cloned().collect();
        q.extend(self.puts.iter().cloned());
        q
    }

    fn committed_if_rollback(&self) -> Vec<String> {
        let mut q: Vec<String> = self.takes.clone();
        q.extend(self.queue.iter().cloned());
        q
    }
}

struct System {
    sim: SimFs,
    cfg: FileChannelConfig,
    ch: Option<FileChannel>,
    tx: Option<Transaction>,
    next: u64,
}

impl System {
    fn new(seed: u64) -> System {
        let sim = SimFs::new(seed);
        let mut cfg = config_under(std::path::Path::new("/sim"), 1 + (seed % 2) as usize);
        cfg.max_file_size_bytes = 4096;
        cfg.fsync_per_transaction = true;
        let mut s = System {
            sim,
            cfg,
            ch: None,
            tx: None,
            next: 0,
        };
        s.reopen();
        s
    }

    fn reopen(&mut self) {
        self.tx = None;
        if let Some(ch) = self.ch.take() {
            let _ = ch.close();
        }
        let fs: Arc<SimFs> = Arc::new(self.sim.clone());
        let ch = FileChannel::open_with_fs(self.cfg.clone(), fs)
            .unwrap_or_else(|e| panic!("reopen failed: {e}"));
        self.ch = Some(ch);
    }

    fn power_loss(&mut self, seed: u64) {
        self.tx = None;
        // Drop without closing: nothing more may reach the disk.
        if let Some(ch) = self.ch.take() {
            self.sim.inject(Fault::Crash {
                at: self.sim.op_count(),
            });
            drop(ch);
        }
        self.sim = self.sim.crash_image(seed);
        self.reopen();
    }

    fn ch(&self) -> &FileChannel {
        self.ch.as_ref().expect("channel open")
    }

    fn tx(&mut self) -> &mut Transaction {
        if self.tx.is_none() {
            self.tx = Some(self.ch().transaction());
        }
        self.tx.as_mut().expect("transaction")
    }
}

fn body_padding(i: u64) -> String {
    // Bodies of varied length so that segments roll at maxFileSize = 4096.
    format!("e{i}-{}", "x".repeat((i % 7 * 40) as usize))
}

/// `take_cached`, then `take` where it answers `Later`; `Empty` only when the model's queue is.
fn take_cached(
    tx: &mut Transaction,
    empty: bool,
    step: usize,
) -> Result<Option<Event>, TestCaseError> {
    let fail = |e: sluice_core::ChannelError| {
        TestCaseError::fail(format!("step {step}: take failed: {e}"))
    };
    match tx.take_cached().map_err(fail)? {
        Cached::Event(e) => Ok(Some(e)),
        Cached::Empty => {
            prop_assert!(empty, "step {}: take_cached said empty", step);
            Ok(None)
        }
        Cached::Later => tx.take().map_err(fail),
    }
}

fn run(seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sys = System::new(seed);
    let mut m = Model::default();
    for (step, op) in ops.iter().enumerate() {
        apply(&mut sys, &mut m, step, op)?;
    }
    // Finally: a crash with everything committed, and the queue must be exactly the model's.
    if let Some(tx) = sys.tx.take() {
        tx.commit()
            .map_err(|e| TestCaseError::fail(format!("final commit failed: {e}")))?;
        m.commit();
    }
    sys.power_loss(seed ^ 0xC0FFEE);
    prop_assert_eq!(peek_all(sys.ch()), Vec::from(m.queue.clone()), "final");
    Ok(())
}

/// One step on the channel and on the model, checking the channel against the model.
fn apply(sys: &mut System, m: &mut Model, step: usize, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Put(n) => put_n(sys, m, step, *n)?,
        Op::Take(n) => take_n(sys, m, step, *n, false)?,
        Op::TakeCached(n) => take_n(sys, m, step, *n, true)?,
        Op::Commit => {
            if let Some(tx) = sys.tx.take() {
                tx.commit()
                    .map_err(|e| TestCaseError::fail(format!("step {step}: commit failed: {e}")))?;
            }
            m.commit();
        }
        Op::Rollback => {
            if let Some(tx) = sys.tx.take() {
                tx.rollback();
            }
            m.rollback();
        }
        Op::Checkpoint => {
            sys.ch()
                .checkpoint()
                .map_err(|e| TestCaseError::fail(format!("step {step}: checkpoint failed: {e}")))?;
        }
        Op::Reopen => {
            sys.reopen();
            m.rollback();
            prop_assert_eq!(peek_all(sys.ch()), Vec::from(m.queue.clone()));
        }
        Op::Crash(s) => {
            sys.power_loss(*s);
            m.rollback();
            prop_assert_eq!(
                peek_all(sys.ch()),
                Vec::from(m.queue.clone()),
                "step {}: after power loss (seed {})",
                step,
                s
            );
        }
        Op::CrashInCommit(k, s) => crash_in_commit(sys, m, step, *k, *s)?,
    }
    Ok(())
}

/// `n` puts in the open transaction.
fn put_n(sys: &mut System, m: &mut Model, step: usize, n: u8) -> Result<(), TestCaseError> {
    for _ in 0..n {
        let body = body_padding(sys.next);
        sys.next += 1;
        sys.tx()
            .put(ev(&body))
            .map_err(|e| TestCaseError::fail(format!("step {step}: put failed: {e}")))?;
        m.puts.push(body);
    }
    Ok(())
}

/// Up to `n` takes in the open transaction (through `take_cached` when `cached`), each the
/// model's head.
fn take_n(
    sys: &mut System,
    m: &mut Model,
    step: usize,
    n: u8,
    cached: bool,
) -> Result<(), TestCaseError> {
    for _ in 0..n {
        let got = if cached {
            take_cached(sys.tx(), m.queue.is_empty(), step)?
        } else {
            sys.tx()
                .take()
                .map_err(|e| TestCaseError::fail(format!("step {step}: take failed: {e}")))?
        };
        let got = got.map(|e| String::from_utf8(Vec::from(e.into_parts().1)).unwrap_or_default());
        let want = m.queue.pop_front();
        prop_assert_eq!(&got, &want, "step {}: take", step);
        if let Some(b) = want {
            m.takes.push(b);
        }
    }
    Ok(())
}

/// A commit with a power loss at the `k`-th I/O operation from now: an acknowledged commit
/// survives whole, a failed one is all there or not at all.
fn crash_in_commit(
    sys: &mut System,
    m: &mut Model,
    step: usize,
    k: u8,
    s: u64,
) -> Result<(), TestCaseError> {
    let with = m.committed_if_commit();
    let without = m.committed_if_rollback();
    sys.sim.inject(Fault::Crash {
        at: sys.sim.op_count() + u64::from(k),
    });
    let acked = match sys.tx.take() {
        Some(tx) => tx.commit().is_ok(),
        None => true,
    };
    sys.power_loss(s);
    let got = peek_all(sys.ch());
    if acked {
        prop_assert_eq!(&got, &with, "step {}: acked commit lost (k {})", step, k);
    } else {
        prop_assert!(
            got == with || got == without,
            "step {}: failed commit at k {} left {:?}, neither {:?} nor {:?}",
            step,
            k,
            got,
            with,
            without
        );
    }
    if got == with {
        m.commit();
    } else {
        m.rollback();
    }
    Ok(())
}

fn cases() -> u32 {
    if long_runs() {
        2_000
    } else {
        64
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn channel_matches_a_queue_model_through_commits_rollbacks_and_power_losses(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op_strategy(), 1..60),
    ) {
        run(seed, &ops)?;
    }
}

#[test]
fn a_take_in_flight_at_a_power_loss_comes_back_at_the_head() {
    let ops = [
        Op::Put(3),
        Op::Commit,
        Op::Take(2),
        Op::Crash(5),
        Op::Take(3),
        Op::Commit,
    ];
    run(11, &ops).unwrap();
}
