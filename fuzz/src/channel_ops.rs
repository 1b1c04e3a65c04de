//! Fuzz body: a sequence of channel operations with power losses, checked against a queue
//! model. Each input byte is an operation (put, take, commit, rollback, checkpoint, reopen,
//! power loss, power loss inside a commit); some take the next byte as an argument. After
//! every reopen the channel must hold exactly the model's committed queue (for a commit cut
//! by the power loss: the queue with or without it).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use sluice_core::io::{Fault, SimFs};
use sluice_core::{Event, FileChannel, FileChannelConfig, Transaction};

/// Most operations per input.
const OPS_MAX: usize = 256;

struct Run {
    sim: SimFs,
    cfg: FileChannelConfig,
    ch: Option<FileChannel>,
    tx: Option<Transaction>,
    queue: VecDeque<Vec<u8>>,
    puts: Vec<Vec<u8>>,
    takes: Vec<Vec<u8>>,
    next: u64,
}

impl Run {
    fn new() -> Run {
        let root = Path::new("/fuzz");
        let mut cfg = FileChannelConfig::with_dirs(
            root.join("checkpoint"),
            vec![root.join("d0"), root.join("d1")],
        );
        cfg.max_file_size_bytes = 4096;
        cfg.minimum_required_space_bytes = 1 << 20;
        cfg.checkpoint_interval_ms = 3_600_000;
        cfg.keep_alive = std::time::Duration::ZERO;
        cfg.transaction_capacity = 10_000;
        let mut r = Run {
            sim: SimFs::new(1),
            cfg,
            ch: None,
            tx: None,
            queue: VecDeque::new(),
            puts: Vec::new(),
            takes: Vec::new(),
            next: 0,
        };
        r.open();
        r
    }

    fn open(&mut self) {
        let ch = FileChannel::open_with_fs(self.cfg.clone(), Arc::new(self.sim.clone()));
        self.ch = Some(ch.unwrap_or_else(|e| panic!("reopen failed: {e}")));
    }

    fn ch(&self) -> &FileChannel {
        self.ch.as_ref().expect("open")
    }

    fn tx(&mut self) -> &mut Transaction {
        if self.tx.is_none() {
            self.tx = Some(self.ch().transaction());
        }
        self.tx.as_mut().expect("transaction")
    }

    fn model_commit(&mut self) {
        self.queue.extend(self.puts.drain(..));
        self.takes.clear();
    }

    fn model_rollback(&mut self) {
        self.puts.clear();
        for b in self.takes.drain(..).rev() {
            self.queue.push_front(b);
        }
    }

    fn contents(&self) -> Vec<Vec<u8>> {
        let mut tx = self.ch().transaction();
        let mut out = Vec::new();
        while let Some(e) = tx.take().expect("take after reopen") {
            out.push(Vec::from(e.into_parts().1));
        }
        tx.rollback();
        out
    }

    /// Power loss now (with an armed crash, maybe in the middle of the last commit).
    fn power_loss(&mut self, seed: u64) {
        self.tx = None;
        self.sim.inject(Fault::Crash {
            at: self.sim.op_count(),
        });
        self.ch = None;
        self.sim = self.sim.crash_image(seed);
        self.open();
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Run::new();
    let mut it = data.iter().copied().take(OPS_MAX);
    while let Some(op) = it.next() {
        match op % 8 {
            0 | 1 => r.put(op),
            2 => r.take_one(),
            3 => {
                if let Some(tx) = r.tx.take() {
                    tx.commit().expect("commit");
                }
                r.model_commit();
            }
            4 => {
                r.tx = None;
                r.model_rollback();
            }
            5 => r.checkpoint_or_reopen(op),
            6 => {
                let seed = u64::from(it.next().unwrap_or(0));
                r.power_loss(seed);
                r.model_rollback();
                assert_eq!(r.contents(), Vec::from(r.queue.clone()), "after power loss");
            }
            _ => r.crash_in_commit(u64::from(it.next().unwrap_or(0) % 16)),
        }
    }
}

impl Run {
    /// A put of the next numbered body, padded by the op's high bits.
    fn put(&mut self, op: u8) {
        let body = format!("e{}-{}", self.next, "x".repeat((op / 8) as usize)).into_bytes();
        self.next += 1;
        self.tx().put(Event::new(body.clone())).expect("put");
        self.puts.push(body);
    }

    /// A take, which must answer the model's head.
    fn take_one(&mut self) {
        let got = self
            .tx()
            .take()
            .expect("take")
            .map(|e| Vec::from(e.into_parts().1));
        let want = self.queue.pop_front();
        assert_eq!(got, want, "take");
        if let Some(b) = want {
            self.takes.push(b);
        }
    }

    /// A checkpoint, or (high bit set) a clean close and reopen that keeps the queue.
    fn checkpoint_or_reopen(&mut self, op: u8) {
        if op & 0x80 == 0 {
            self.ch().checkpoint().expect("checkpoint");
        } else {
            self.tx = None;
            self.ch = None;
            self.open();
            self.model_rollback();
            assert_eq!(
                self.contents(),
                Vec::from(self.queue.clone()),
                "after reopen"
            );
        }
    }

    /// A commit with a power loss at the `k`-th I/O operation from now: acknowledged, it
    /// survives; cut, it is all there or not at all.
    fn crash_in_commit(&mut self, k: u64) {
        let mut with: Vec<Vec<u8>> = self.queue.iter().cloned().collect();
        with.extend(self.puts.iter().cloned());
        let mut without = self.takes.clone();
        without.extend(self.queue.iter().cloned());
        self.sim.inject(Fault::Crash {
            at: self.sim.op_count() + k,
        });
        let acked = self.tx.take().is_none_or(|tx| tx.commit().is_ok());
        self.power_loss(k);
        let got = self.contents();
        if acked {
            assert_eq!(got, with, "an acknowledged commit was lost");
        } else {
            assert!(got == with || got == without, "a cut commit left {got:?}");
        }
        if got == with {
            self.model_commit();
        } else {
            self.model_rollback();
        }
    }
}
