//! The memory channel against a model queue, with random transactions: two open at once,
//! each taking and putting events of arbitrary bytes and Unicode headers, then committed,
//! rolled back or dropped in a random order. After every step the channel holds exactly the
//! model's events in the model's order, and every take returns the model's next events whole
//! (a rollback restores what the transaction kept of its takes, byte for byte).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use sluice::agent::channel::memory::{MemoryChannel, MemoryConfig};
use sluice::agent::channel::{AgentChannel, ChannelTx};
use sluice_core::Event;

#[derive(Clone, Debug)]
enum Op {
    /// Transaction `tx` takes up to `n` events.
    Take { tx: usize, n: usize },
    /// Transaction `tx` puts these events.
    Put { tx: usize, events: Vec<Event> },
    /// Transaction `tx` ends: commit, rollback or drop (0, 1, 2).
    End { tx: usize, how: u8 },
}

fn event() -> impl Strategy<Value = Event> {
    (
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::btree_map("\\PC{0,6}", "\\PC{0,6}", 0..3),
    )
        .prop_map(|(body, headers)| Event::with_headers(headers, body))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0..6usize).prop_map(|(tx, n)| Op::Take { tx, n }),
        (0..2usize, prop::collection::vec(event(), 0..4))
            .prop_map(|(tx, events)| Op::Put { tx, events }),
        (0..2usize, 0..3u8).prop_map(|(tx, how)| Op::End { tx, how }),
    ]
}

/// One open transaction and what the model expects of it.
struct Open {
    tx: Box<dyn ChannelTx>,
    taken: Vec<Event>,
    put: Vec<Event>,
}

fn drain(ch: &MemoryChannel, rt: &tokio::runtime::Runtime) -> Vec<Event> {
    rt.block_on(async {
        let mut tx = ch.begin();
        let all = tx.take_up_to(usize::MAX).await.unwrap();
        tx.rollback().await;
        all
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn the_memory_channel_matches_a_model_queue(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ch = MemoryChannel::new("m", MemoryConfig::sized(10_000, 10_000, Duration::ZERO));
        let mut model: VecDeque<Event> = VecDeque::new();
        let mut open: BTreeMap<usize, Open> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Take { tx, n } => {
                    let o = open.entry(tx).or_insert_with(|| Open { tx: ch.begin(), taken: Vec::new(), put: Vec::new() });
                    let got = rt.block_on(o.tx.take_up_to(n)).unwrap();
                    let want: Vec<Event> = model.drain(..n.min(model.len())).collect();
                    prop_assert_eq!(&got, &want);
                    o.taken.extend(got);
                }
                Op::Put { tx, events } => {
                    let o = open.entry(tx).or_insert_with(|| Open { tx: ch.begin(), taken: Vec::new(), put: Vec::new() });
                    rt.block_on(o.tx.put_all(events.clone())).unwrap();
                    o.put.extend(events);
                }
                Op::End { tx, how } => {
                    let Some(o) = open.remove(&tx) else { continue };
                    match how {
                        0 => {
                            rt.block_on(o.tx.commit()).unwrap();
                            model.extend(o.put);
                        }
                        _ => {
                            if how == 1 {
                                rt.block_on(o.tx.rollback());
                            } else {
                                drop(o.tx);
                            }
                            for e in o.taken.into_iter().rev() {
                                model.push_front(e);
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(ch.len(), model.len());
        }
        for (_, o) in std::mem::take(&mut open) {
            rt.block_on(o.tx.rollback());
            for e in o.taken.into_iter().rev() {
                model.push_front(e);
            }
        }
        prop_assert_eq!(drain(&ch, &rt), Vec::from(model));
    }
}
