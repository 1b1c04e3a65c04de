//! Event ids across a power loss: with committers and checkpoints running, a resend of every
//! batch after the crash leaves each id in the channel exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{drain_ids, put_all, send};
use crate::common::config_under;
use sluice_core::io::SimFs;
use sluice_core::FileChannel;

/// Power loss while committers and checkpoints run: after the crash every batch is sent
/// again, acknowledged or not. Each id is then in the channel exactly once: the acknowledged
/// and the durable ones are recognised (from the log or the checkpoint, which must never
/// hold an id whose records did not survive), the lost ones are taken anew.
#[test]
fn after_a_power_loss_a_resend_of_everything_leaves_each_id_once() {
    const THREADS: u64 = 4;
    const BATCHES: u64 = 30;
    const PER: u64 = 5;
    for seed in 0..6u64 {
        let sim = SimFs::new(seed);
        sim.on_sync(Some(Arc::new(|| {
            std::thread::sleep(Duration::from_micros(100));
            Ok(())
        })));
        let mut cfg = config_under(std::path::Path::new("/sim"), 2);
        cfg.max_file_size_bytes = 16 << 10;
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(sim.clone())).unwrap();
        let batch = |t: u64, b: u64| (0..PER).map(move |i| 1 + ((t * BATCHES + b) * PER + i));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ch = ch.clone();
                std::thread::spawn(move || {
                    for b in 0..BATCHES {
                        // Four committers at once: the queue's growth is not this
                        // batch's count, so checkpoints come by batch number.
                        put_all(&ch, batch(t, b));
                        if b % 7 == 3 || (b + t) % 4 == 0 {
                            let _ = ch.checkpoint();
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5 + seed * 3));
        let img = sim.crash_image(seed * 31 + 1);
        for h in handles {
            h.join().unwrap();
        }
        drop(ch);
        let ch = FileChannel::open_with_fs(cfg.clone(), Arc::new(img)).unwrap();
        for t in 0..THREADS {
            for b in 0..BATCHES {
                send(&ch, batch(t, b));
            }
        }
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for id in drain_ids(&ch) {
            *count.entry(id).or_default() += 1;
        }
        assert_eq!(
            count.len() as u64,
            THREADS * BATCHES * PER,
            "seed {seed}: ids missing"
        );
        let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "seed {seed}: duplicated {twice:?}");
    }
}
