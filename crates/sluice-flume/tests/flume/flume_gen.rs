//! Flume logs generated from Flume's record layout (`flume::proto`, written as Flume's
//! `LogFileV3` writes them: `0x7F`, a big-endian length, the length-delimited header, record
//! and empty footer), with transactions interleaved over two data directories, replayed by the
//! reader against a model: the queue is every committed put in commit order, less the
//! committed takes; uncommitted and rolled-back transactions change nothing.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "writes generated Flume files on the real disk for the reader"
)]

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use prost::Message;
use sluice_core::io::StdFs;
use sluice_flume::proto::{
    Commit, FlumeEvent, FlumeEventHeader, Put, Take, TransactionEventHeader,
};
use sluice_flume::{FlumeChannel, FlumeDirs, FlumeKeys};

/// One log file being written.
#[derive(Default)]
struct LogFile {
    bytes: Vec<u8>,
}

/// A Flume channel being written: two data directories, global write order.
pub struct Writer {
    logs: [LogFile; 2],
    woid: i64,
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            logs: [LogFile::default(), LogFile::default()],
            woid: 1_000,
        }
    }

    /// Appends a record of `typ` for `txid` with `body`; its pointer.
    fn record(&mut self, typ: i32, txid: i64, body: &[u8]) -> u64 {
        self.woid += 1;
        let mut payload = TransactionEventHeader {
            r#type: typ,
            transaction_id: txid,
            write_order_id: self.woid,
        }
        .encode_length_delimited_to_vec();
        payload.extend_from_slice(body);
        payload.push(0); // the empty footer
        let file = (txid % 2) as usize;
        let log = &mut self.logs[file];
        let offset = log.bytes.len() as u64;
        log.bytes.push(0x7F);
        log.bytes
            .extend_from_slice(&(payload.len() as u32).to_be_bytes());
        log.bytes.extend_from_slice(&payload);
        ((file as u64 + 1) << 32) | offset
    }

    pub fn put(&mut self, txid: i64, body: &str) -> u64 {
        let b = body.as_bytes().to_vec();
        let put = Put {
            event: Some(FlumeEvent {
                headers: vec![FlumeEventHeader {
                    key: "n".into(),
                    value: Some(body.into()),
                }],
                body: b.clone().into(),
            }),
            checksum: Some(i64::from(crc32fast::hash(&b))),
        };
        self.record(1, txid, &put.encode_length_delimited_to_vec())
    }

    pub fn take(&mut self, txid: i64, ptr: u64) {
        let t = Take {
            file_id: (ptr >> 32) as i32,
            offset: (ptr & 0xFFFF_FFFF) as i32,
        };
        self.record(2, txid, &t.encode_length_delimited_to_vec());
    }

    pub fn rollback(&mut self, txid: i64) {
        self.record(3, txid, &[0]);
    }

    pub fn commit(&mut self, txid: i64, takes: bool) {
        let c = Commit {
            r#type: if takes { 2 } else { 1 },
        };
        self.record(4, txid, &c.encode_length_delimited_to_vec());
    }

    /// Writes `data1/log-1` and `data2/log-2` under `root` (with Flume's `0x80` tail).
    pub fn write(&self, root: &Path) -> FlumeDirs {
        let mut dirs = Vec::new();
        for (i, log) in self.logs.iter().enumerate() {
            let dir = root.join(format!("data{}", i + 1));
            std::fs::create_dir_all(&dir).unwrap();
            let mut b = log.bytes.clone();
            b.extend(std::iter::repeat_n(0x80u8, 64));
            std::fs::write(dir.join(format!("log-{}", i + 1)), b).unwrap();
            dirs.push(dir);
        }
        std::fs::create_dir_all(root.join("checkpoint")).unwrap();
        FlumeDirs {
            checkpoint_dir: root.join("checkpoint"),
            backup_checkpoint_dir: None,
            data_dirs: dirs,
        }
    }
}

/// What a generated transaction does.
#[derive(Clone, Debug)]
enum Step {
    /// Puts this many events; ends committed, rolled back, or open.
    Puts(usize, End),
    /// Takes this many events from the head; ends committed, rolled back, or open.
    Takes(usize, End),
}

#[derive(Clone, Copy, Debug)]
enum End {
    Commit,
    Rollback,
    Open,
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![6 => Just(End::Commit), 1 => Just(End::Rollback), 1 => Just(End::Open)]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            3 => (1usize..20, end()).prop_map(|(n, e)| Step::Puts(n, e)),
            2 => (1usize..10, end()).prop_map(|(n, e)| Step::Takes(n, e)),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_generated_flume_log_replays_to_the_model_queue(steps in steps()) {
        let mut w = Writer::new();
        // The model: committed events (body, pointer) in commit order, and which are taken
        // for good; Flume's memory queue decides what a take takes.
        let mut committed: Vec<(String, u64)> = Vec::new();
        let mut taken: BTreeSet<u64> = BTreeSet::new();
        let mut memory: std::collections::VecDeque<(String, u64)> = Default::default();
        let mut next = 0usize;
        for (txid, step) in (1i64..).zip(steps) {
            match step {
                Step::Puts(n, e) => {
                    let mut these = Vec::new();
                    for _ in 0..n {
                        let body = format!("evt-{next}");
                        next += 1;
                        let ptr = w.put(txid, &body);
                        these.push((body, ptr));
                    }
                    match e {
                        End::Commit => {
                            w.commit(txid, false);
                            committed.extend(these.iter().cloned());
                            memory.extend(these);
                        }
                        End::Rollback => w.rollback(txid),
                        End::Open => {}
                    }
                }
                Step::Takes(n, e) => {
                    let mut these = Vec::new();
                    for _ in 0..n {
                        let Some(ev) = memory.pop_front() else { break };
                        w.take(txid, ev.1);
                        these.push(ev);
                    }
                    match e {
                        End::Commit => {
                            w.commit(txid, true);
                            taken.extend(these.iter().map(|t| t.1));
                        }
                        End::Rollback => {
                            w.rollback(txid);
                            for ev in these.into_iter().rev() {
                                memory.push_front(ev);
                            }
                        }
                        // Open until the end: Flume's memory has them out, the logs not.
                        End::Open => {}
                    }
                }
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let dirs = w.write(tmp.path());
        let ch = FlumeChannel::open(&StdFs, &dirs, &FlumeKeys::new()).unwrap();
        let got: Vec<String> = ch
            .queue
            .iter()
            .map(|p| String::from_utf8(ch.read_event(*p).unwrap().body.to_vec()).unwrap())
            .collect();
        let want: Vec<String> = committed
            .into_iter()
            .filter(|(_, p)| !taken.contains(p))
            .map(|(b, _)| b)
            .collect();
        prop_assert_eq!(got, want);
        prop_assert!(ch.report.counts.stopped.is_empty());
    }
}
