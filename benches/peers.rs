//! Criterion: the same durable queue workload on Sluice's file channel and on Rust peers that
//! fsync on commit (see the reference peers list): redb (`Durability::Immediate`), fjall
//! (write batch with `PersistMode::SyncData`), queue-file (`sync_writes`, one fsync per
//! `add_n`/`remove_n`) and raft-engine (`write(batch, sync = true)`). One thread; 1 KiB values;
//! put+commit at batch 1 and 100, then take+commit (read the oldest, delete, sync) at batch 100.
//!
//! `cargo bench --bench peers`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark harness: a failed unwrap aborts the run and names the line"
)]

mod support;

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const VALUE_BYTES: usize = 1024;
const PUT_BATCHES: [usize; 2] = [1, 100];
const TAKE_BATCH: usize = 100;

/// A durable FIFO as each peer can offer it.
trait Peer {
    fn put(&mut self, batch: usize);
    fn take(&mut self, batch: usize) -> usize;
}

fn value(i: u64) -> Vec<u8> {
    let mut v = vec![0x5Au8; VALUE_BYTES];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

struct Sluice {
    ch: sluice_core::FileChannel,
    next: u64,
}

impl Peer for Sluice {
    fn put(&mut self, batch: usize) {
        let mut tx = self.ch.transaction();
        for _ in 0..batch {
            tx.put(sluice_core::Event::new(value(self.next)))
                .expect("put");
            self.next += 1;
        }
        tx.commit().expect("commit");
    }
    fn take(&mut self, batch: usize) -> usize {
        support::take_batch(&self.ch, batch)
    }
}

const REDB_TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("queue");

struct Redb {
    db: redb::Database,
    next: u64,
}

impl Peer for Redb {
    fn put(&mut self, batch: usize) {
        let tx = self.db.begin_write().expect("begin");
        {
            let mut t = tx.open_table(REDB_TABLE).expect("table");
            for _ in 0..batch {
                t.insert(self.next, value(self.next).as_slice())
                    .expect("insert");
                self.next += 1;
            }
        }
        tx.commit().expect("commit");
    }
    fn take(&mut self, batch: usize) -> usize {
        let tx = self.db.begin_write().expect("begin");
        let mut n = 0;
        {
            let mut t = tx.open_table(REDB_TABLE).expect("table");
            while n < batch {
                match t.pop_first().expect("pop") {
                    Some((_, v)) => {
                        std::hint::black_box(v.value().len());
                        n += 1;
                    }
                    None => break,
                }
            }
        }
        tx.commit().expect("commit");
        n
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
    next: u64,
    head: u64,
}

impl Peer for Fjall {
    fn put(&mut self, batch: usize) {
        let mut b = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for _ in 0..batch {
            b.insert(&self.ks, self.next.to_be_bytes(), value(self.next));
            self.next += 1;
        }
        b.commit().expect("commit");
    }
    fn take(&mut self, batch: usize) -> usize {
        let mut keys = Vec::with_capacity(batch);
        for kv in self.ks.range(self.head.to_be_bytes()..).take(batch) {
            let (k, v) = kv.into_inner().expect("read");
            std::hint::black_box(v.len());
            keys.push(k);
        }
        let mut b = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for k in &keys {
            b.remove(&self.ks, k.clone());
        }
        b.commit().expect("commit");
        self.head += keys.len() as u64;
        keys.len()
    }
}

struct QueueFile {
    q: queue_file::QueueFile,
    next: u64,
}

impl Peer for QueueFile {
    fn put(&mut self, batch: usize) {
        let vals: Vec<Vec<u8>> = (0..batch as u64).map(|k| value(self.next + k)).collect();
        self.next += batch as u64;
        self.q.add_n(vals).expect("add_n");
    }
    fn take(&mut self, batch: usize) -> usize {
        let mut n = 0;
        for v in self.q.iter().take(batch) {
            std::hint::black_box(v.len());
            n += 1;
        }
        self.q.remove_n(n).expect("remove_n");
        n
    }
}

const RAFT_REGION: u64 = 1;

struct RaftEngine {
    engine: raft_engine::Engine,
    next: u64,
    head: u64,
}

impl Peer for RaftEngine {
    fn put(&mut self, batch: usize) {
        let mut lb = raft_engine::LogBatch::default();
        for _ in 0..batch {
            lb.put(
                RAFT_REGION,
                self.next.to_be_bytes().to_vec(),
                value(self.next),
            )
            .expect("put");
            self.next += 1;
        }
        self.engine.write(&mut lb, true).expect("write");
    }
    fn take(&mut self, batch: usize) -> usize {
        let mut lb = raft_engine::LogBatch::default();
        let mut n = 0;
        while n < batch && self.head < self.next {
            let key = self.head.to_be_bytes().to_vec();
            let v = self.engine.get(RAFT_REGION, &key).expect("present");
            std::hint::black_box(v.len());
            lb.delete(RAFT_REGION, key);
            self.head += 1;
            n += 1;
        }
        self.engine.write(&mut lb, true).expect("write");
        n
    }
}

fn open(name: &str, dir: &Path) -> Box<dyn Peer> {
    match name {
        "sluice" => {
            let ch = sluice_core::FileChannel::open(support::config(dir, 1000)).expect("open");
            Box::new(Sluice { ch, next: 0 })
        }
        "redb" => {
            let db = redb::Database::create(dir.join("queue.redb")).expect("redb");
            Box::new(Redb { db, next: 0 })
        }
        "fjall" => {
            let db = fjall::Database::builder(dir.join("fjall"))
                .open()
                .expect("fjall");
            let ks = db
                .keyspace("queue", fjall::KeyspaceCreateOptions::default)
                .expect("ks");
            Box::new(Fjall {
                db,
                ks,
                next: 0,
                head: 0,
            })
        }
        "queue-file" => {
            let mut q = queue_file::QueueFile::open(dir.join("queue")).expect("queue-file");
            q.set_sync_writes(true);
            Box::new(QueueFile { q, next: 0 })
        }
        _ => {
            let cfg = raft_engine::Config {
                dir: dir.join("raft").display().to_string(),
                ..Default::default()
            };
            let engine = raft_engine::Engine::open(cfg).expect("raft-engine");
            Box::new(RaftEngine {
                engine,
                next: 0,
                head: 0,
            })
        }
    }
}

const PEERS: [&str; 5] = ["sluice", "redb", "fjall", "queue-file", "raft-engine"];

fn peers(c: &mut Criterion) {
    for batch in PUT_BATCHES {
        let mut g = c.benchmark_group(format!("peers/put/b{batch}"));
        g.throughput(Throughput::Elements(batch as u64));
        for name in PEERS {
            let tmp = tempfile::tempdir().expect("temp dir");
            let mut p = open(name, tmp.path());
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| p.put(batch))
            });
        }
        g.finish();
    }
    let mut g = c.benchmark_group(format!("peers/take/b{TAKE_BATCH}"));
    g.throughput(Throughput::Elements(TAKE_BATCH as u64));
    for name in PEERS {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut p = open(name, tmp.path());
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                for _ in 0..iters {
                    p.put(TAKE_BATCH);
                }
                let t0 = std::time::Instant::now();
                for _ in 0..iters {
                    assert_eq!(p.take(TAKE_BATCH), TAKE_BATCH);
                }
                t0.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::quick();
    targets = peers
}
criterion_main!(benches);
