//! The deduplication table against a model: the exact set of committed ids. Out-of-order
//! inserts within a window, expiry, the limits and restarts (through the checkpoint's image)
//! never make the table claim an id the model lacks (that would drop a new event: a loss);
//! without evictions or expiry it knows exactly what the model knows.

use std::collections::BTreeSet;

use proptest::prelude::*;
use sluice_core::dedup::{DedupLimits, DedupTable, IdSpan};
use sluice_core::internals::checkpoint::format::{decode, encode, CheckpointImage, DedupImage};

#[derive(Clone, Debug)]
enum Op {
    /// Commit `len` ids of origin `o` after `base` (out of order within a window).
    Insert { o: u64, base: u64, len: u64 },
    /// Time passes; origins not seen for `ttl` go.
    Expire { ttl: u64 },
    /// Through a checkpoint image and back.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (1u64..4, 0u64..60, 1u64..6).prop_map(|(o, base, len)| Op::Insert { o, base, len }),
        1 => (0u64..20).prop_map(|ttl| Op::Expire { ttl }),
        1 => Just(Op::Restart),
    ]
}

/// The table as it comes back from a checkpoint.
fn restarted(t: &DedupTable) -> DedupTable {
    let img = CheckpointImage {
        dedup: DedupImage {
            own_origin: 1,
            own_next: 1,
            origins: t.iter().map(|(id, o)| (id, o.clone())).collect(),
        },
        ..CheckpointImage::default()
    };
    let back = decode(&encode(&img)).unwrap();
    let mut t2 = DedupTable::new(t.limits());
    for (id, o) in back.dedup.origins {
        t2.restore(id, o);
    }
    t2
}

fn check(ops: Vec<Op>, limits: DedupLimits, probes: Vec<(u64, u64, u64)>) {
    let mut t = DedupTable::new(limits);
    let mut model: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut now = 0u64;
    let mut forgot = false;
    for op in ops {
        now += 1;
        match op {
            Op::Insert { o, base, len } => {
                t.insert(&IdSpan::new(o, base, base + len).unwrap(), now, 1);
                model.extend((base + 1..=base + len).map(|i| (o, i)));
            }
            Op::Expire { ttl } => {
                forgot |= t.expire(now.saturating_sub(ttl), 1) > 0;
            }
            Op::Restart => t = restarted(&t),
        }
        forgot |= t.evicted() > 0 || t.turned_away() > 0;
        for &(o, lo, len) in &probes {
            let span = IdSpan::new(o, lo, lo + len).unwrap();
            let all = (lo + 1..=lo + len).all(|i| model.contains(&(o, i)));
            if t.contains(&span) {
                assert!(
                    all,
                    "the table holds {span} the model lacks: a new event would be dropped"
                );
            } else if !forgot {
                assert!(!all, "the table forgot {span} with no eviction or expiry");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_table_never_holds_an_id_that_was_not_committed(
        ops in proptest::collection::vec(op(), 1..60),
        ranges in 1usize..5,
        origins in 1usize..4,
        probes in proptest::collection::vec((1u64..4, 0u64..64, 1u64..4), 1..12),
        recent_ms in 0u64..8,
    ) {
        check(ops, DedupLimits { ranges_per_origin: ranges, origins, recent_ms }, probes);
    }
}
