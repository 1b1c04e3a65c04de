//! The direct-I/O write path: committed bytes survive a lost or torn rewrite of the partial
//! tail block; takers that keep up are served from the event cache; a file system
//! without O_DIRECT gets buffered writes (or, with `directIo = true`, a clear error).

use std::sync::Arc;

use crate::common::{config_under, drain, ev, put_all, Bed};
use sluice_core::io::{Fault, SimFs};
use sluice_core::{DirectIo, FileChannel};

/// A one-directory channel with `directIo = auto`.
fn direct(bed: &Bed) -> sluice_core::FileChannelConfig {
    let mut c = bed.config(1);
    c.direct_io = DirectIo::Auto;
    c
}

/// Commits `n` one-event transactions of a few bytes each: every commit rewrites the block
/// the previous ones share.
fn small_commits(ch: &FileChannel, from: usize, n: usize) -> Vec<String> {
    let bodies: Vec<String> = (from..from + n).map(|i| format!("e{i:04}")).collect();
    for b in &bodies {
        put_all(ch, &[b.as_str()]);
    }
    bodies
}

#[test]
fn a_lost_or_torn_rewrite_of_the_tail_block_never_loses_what_was_committed_before_it() {
    // Count the operations of a run of small commits, then cut the power at each operation of
    // the last commits, with several crash images each: every earlier commit must be back.
    let counting = SimFs::new(1);
    let mut config = config_under(std::path::Path::new("/sim"), 1);
    config.direct_io = DirectIo::Auto;
    let ch = FileChannel::open_with_fs(config.clone(), Arc::new(counting.clone())).unwrap();
    small_commits(&ch, 0, 20);
    let before_last = counting.op_count();
    small_commits(&ch, 20, 5);
    let end = counting.op_count();
    drop(ch);
    let mut checked = 0;
    for k in before_last..end {
        let sim = SimFs::new(1);
        sim.inject(Fault::Crash { at: k });
        let ch = FileChannel::open_with_fs(config.clone(), Arc::new(sim.clone())).unwrap();
        // The crash lands in one of these; what they acknowledge before it must survive.
        let mut acked = Vec::new();
        for i in 0..25 {
            let b = format!("e{i:04}");
            let mut tx = ch.transaction();
            if tx.put(ev(&b)).is_err() {
                break; // poisoned by the crash
            }
            if tx.commit().is_ok() {
                acked.push(b);
            }
        }
        assert!(acked.len() < 25, "op {k} never crashed the run");
        drop(ch);
        for seed in 0..8 {
            let img = sim.crash_image(seed);
            let back = FileChannel::open_with_fs(config.clone(), Arc::new(img)).unwrap();
            let got = drain(&back);
            for b in &acked {
                assert!(
                    got.contains(b),
                    "crash at op {k}, seed {seed}: committed {b} lost; recovered {got:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "the sweep visited {checked} crash images");
}

#[test]
fn takers_that_keep_up_are_served_from_memory_and_lagging_ones_from_the_file() {
    for bed in Bed::both() {
        let config = direct(&bed);
        let ch = bed.open(&config);
        assert!(drain(&ch).is_empty(), "a sink polls the empty channel");
        put_all(&ch, &["a", "b", "c"]);
        assert_eq!(drain(&ch), ["a", "b", "c"]);
        let s = ch.stats();
        if bed.sim.is_some() {
            assert_eq!((s.tail_cache_hits, s.tail_cache_misses), (3, 0), "{s:?}");
        }
        drop(ch);
        // Reopened, the cache is empty: the same kind of events come from the file.
        let ch = bed.open(&config);
        put_all(&ch, &["d"]);
        drop(ch);
        let ch = bed.open(&config);
        assert_eq!(drain(&ch), ["d"]);
        let s = ch.stats();
        assert_eq!(s.tail_cache_hits, 0, "{s:?}");
    }
}

#[test]
fn a_steady_stream_reuses_its_write_buffers_instead_of_allocating_one_per_write() {
    // Commits of 100 × 1 KiB and 25 × 1 KiB alternate and takers keep up: every written
    // buffer must come back to the writer, so only the first few writes allocate. When the
    // pool kept its first sixteen buffers, once they were the wrong size every write
    // zero-filled a fresh one.
    for bed in Bed::both() {
        let mut config = direct(&bed);
        config.tail_cache_bytes = 1 << 20;
        let ch = bed.open(&config);
        let body = "x".repeat(1024);
        for round in 0..200 {
            let n = if round % 2 == 0 { 100 } else { 25 };
            put_all(&ch, &vec![body.as_str(); n]);
            assert_eq!(drain(&ch).len(), n);
        }
        let s = ch.stats();
        assert!(s.tail_cache_hits > 10_000, "{s:?}");
        assert!(
            s.group_commit.fresh_buffers <= 20,
            "{} fresh buffers for 200 writes: {s:?}",
            s.group_commit.fresh_buffers
        );
    }
}

#[test]
fn a_taker_some_batches_behind_is_served_from_memory() {
    // Puts of 200 × 1 KiB and the taker's take commits alternate, the taker six batches
    // (1.5 MiB) behind, within the 5 MiB cache: every take is served from memory.
    let bed = Bed::sim(5);
    let mut config = direct(&bed);
    config.tail_cache_bytes = 5 << 20;
    let ch = bed.open(&config);
    assert!(drain(&ch).is_empty(), "a sink polls the empty channel");
    let body = "y".repeat(1024);
    let batch = vec![body.as_str(); 200];
    for _ in 0..6 {
        put_all(&ch, &batch);
    }
    let take_batch = |ch: &FileChannel| {
        let mut tx = ch.transaction();
        for _ in 0..200 {
            assert!(tx.take().unwrap().is_some());
        }
        tx.commit().unwrap();
    };
    let before = ch.stats();
    for _ in 0..40 {
        put_all(&ch, &batch);
        take_batch(&ch);
    }
    let s = ch.stats();
    let (hits, misses) = (
        s.tail_cache_hits - before.tail_cache_hits,
        s.tail_cache_misses - before.tail_cache_misses,
    );
    assert_eq!((hits, misses), (8_000, 0), "{s:?}");
}

#[test]
fn a_tail_cache_smaller_than_one_write_still_serves_every_event_from_the_file() {
    let bed = Bed::sim(3);
    let mut config = direct(&bed);
    config.tail_cache_bytes = 1;
    let ch = bed.open(&config);
    let bodies: Vec<String> = (0..300).map(|i| format!("event-{i}")).collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    put_all(&ch, &refs);
    assert_eq!(drain(&ch), bodies);
    // Nothing ever fitted, so nothing was kept or looked up: every event came from the file.
    let s = ch.stats();
    assert_eq!((s.tail_cache_hits, s.tail_cache_misses), (0, 0), "{s:?}");
}

#[test]
fn a_taker_further_behind_than_the_cache_gets_every_event_from_the_file_in_order() {
    // Room for about 240 events of 1 KiB; the sink is there but 2,000 events behind, so only
    // the first puts (while it was near) are kept, and the rest come from the segments.
    for bed in Bed::both() {
        let mut config = direct(&bed);
        config.tail_cache_bytes = 300 << 10;
        let ch = bed.open(&config);
        assert!(drain(&ch).is_empty(), "a sink polls the empty channel");
        let bodies: Vec<String> = (0..2000)
            .map(|i| format!("{i:04}{}", "z".repeat(1020)))
            .collect();
        for batch in bodies.chunks(100) {
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            put_all(&ch, &refs);
        }
        assert_eq!(drain(&ch), bodies);
        let s = ch.stats();
        assert!(s.tail_cache_hits <= 240, "{s:?}");
        assert_eq!(s.tail_cache_hits + s.tail_cache_misses, 2000, "{s:?}");
    }
}

#[test]
fn buffered_takes_that_keep_up_are_served_from_memory_too() {
    for bed in Bed::both() {
        let mut config = bed.config(2);
        config.direct_io = DirectIo::Off;
        let ch = bed.open(&config);
        assert!(drain(&ch).is_empty());
        put_all(&ch, &["p", "q"]);
        assert_eq!(drain(&ch), ["p", "q"]);
        let s = ch.stats();
        assert_eq!((s.tail_cache_hits, s.tail_cache_misses), (2, 0), "{s:?}");
    }
}

#[test]
fn a_file_system_without_direct_io_gets_buffered_writes_with_the_same_results() {
    let mut bed = Bed::sim(5);
    bed.sim.as_ref().unwrap().refuse_direct(true);
    let mut config = bed.config(2);
    config.direct_io = DirectIo::Auto;
    let ch = bed.open(&config);
    let bodies = small_commits(&ch, 0, 30);
    drop(ch);
    bed.power_loss(9);
    let ch = bed.open(&config);
    let mut got = drain(&ch);
    got.sort();
    assert_eq!(got, bodies);
    let s = ch.stats();
    assert_eq!(
        s.tail_cache_hits, 0,
        "after a reopen every event comes from the file: {s:?}"
    );
}

#[test]
fn the_default_writes_direct_where_the_directory_takes_it_and_leaves_no_probe_file() {
    for bed in Bed::both() {
        let config = bed.config(2);
        assert_eq!(config.direct_io, DirectIo::Auto);
        let ch = bed.open(&config);
        let bodies = small_commits(&ch, 0, 40);
        let s = ch.stats();
        // Only the direct path writes from pooled aligned buffers.
        assert!(s.group_commit.fresh_buffers > 0, "buffered writes: {s:?}");
        let mut got = drain(&ch);
        got.sort();
        assert_eq!(got, bodies);
        for d in &config.data_dirs {
            let names = bed.fs.list_dir(d).unwrap();
            assert!(
                names.iter().all(|n| !n.contains("probe")),
                "{}: {names:?}",
                d.display()
            );
        }
    }
}

#[test]
fn a_file_system_that_opens_o_direct_but_refuses_4_kib_writes_gets_buffered_writes() {
    // A device with 8 KiB logical blocks: the open succeeds and the writer's 4 KiB-aligned
    // writes would fail with EINVAL. The probe finds out before any commit, so nothing is
    // poisoned and every event is there after a power cut.
    let mut bed = Bed::sim(12);
    bed.sim.as_ref().unwrap().direct_alignment(8192);
    let config = bed.config(2);
    let ch = bed.open(&config);
    let bodies = small_commits(&ch, 0, 30);
    let s = ch.stats();
    assert_eq!(s.group_commit.fresh_buffers, 0, "direct writes: {s:?}");
    drop(ch);
    bed.power_loss(4);
    let ch = bed.open(&config);
    let mut got = drain(&ch);
    got.sort();
    assert_eq!(got, bodies);
}

#[test]
fn direct_io_true_on_a_file_system_that_refuses_it_fails_the_commit_and_names_o_direct() {
    let bed = Bed::sim(6);
    bed.sim.as_ref().unwrap().refuse_direct(true);
    let mut config = bed.config(1);
    config.direct_io = DirectIo::On;
    let err = match FileChannel::open_with_fs(config.clone(), bed.fs.clone()) {
        Err(e) => e.to_string(),
        Ok(ch) => {
            let mut tx = ch.transaction();
            tx.put(ev("x")).unwrap();
            tx.commit().unwrap_err().to_string()
        }
    };
    assert!(err.contains("O_DIRECT"), "{err}");
}

#[test]
fn direct_io_is_a_config_key_with_auto_true_and_false() {
    let props = |v: &str| -> std::collections::BTreeMap<String, String> {
        [
            ("checkpointDir", "/c"),
            ("dataDirs", "/d"),
            ("directIo", v),
            ("tailCacheSize", "1048576"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    let parse = |v: &str| sluice_core::FileChannelConfig::from_properties(&props(v));
    let unset = sluice_core::FileChannelConfig::from_properties(&Default::default());
    assert_eq!(unset.map(|c| c.0.direct_io).ok(), Some(DirectIo::Auto));
    assert_eq!(parse("auto").unwrap().0.direct_io, DirectIo::Auto);
    assert_eq!(parse("true").unwrap().0.direct_io, DirectIo::On);
    let (c, _) = parse("false").unwrap();
    assert_eq!((c.direct_io, c.tail_cache_bytes), (DirectIo::Off, 1 << 20));
    let e = parse("sometimes").unwrap_err();
    assert!(e.to_string().contains("directIo"), "{e}");
}

#[test]
fn a_full_disk_under_direct_io_refuses_puts_at_allocation_without_poisoning_and_resumes() {
    let bed = Bed::sim(8);
    let mut cfg = direct(&bed);
    cfg.max_file_size_bytes = 64 * 1024;
    let floor = cfg.minimum_required_space_bytes;
    let ch = bed.open(&cfg);
    let sim = bed.sim.clone().unwrap();
    sim.set_space_limit(Some(1 << 40));
    let used = (1u64 << 40) - bed.fs.available_space(&bed.root).unwrap();
    // Room above the floor for a few segments' allocations.
    let limit = used + floor + 200 * 1024;
    sim.set_space_limit(Some(limit));
    let body = |i: usize| format!("{i:06}-{}", "z".repeat(1000));
    let mut acked = Vec::new();
    let err = loop {
        let mut tx = ch.transaction();
        tx.put(ev(&body(acked.len()))).unwrap();
        match tx.commit() {
            Ok(()) => acked.push(body(acked.len())),
            Err(e) => break e,
        }
        assert!(acked.len() < 10_000, "never refused");
    };
    assert!(
        matches!(err, sluice_core::ChannelError::DiskFull(_)),
        "{err:?}"
    );
    assert!(acked.len() > 100, "refused after {} puts", acked.len());
    assert!(!ch.stats().unhealthy, "a full disk must not poison");
    assert_eq!(drain(&ch), acked);
    sim.set_space_limit(Some(limit + (4 << 20)));
    let later: Vec<String> = (20_000..20_010).map(body).collect();
    for b in &later {
        put_all(&ch, &[b.as_str()]);
    }
    drop(ch);
    assert_eq!(drain(&bed.open(&cfg)), later);
}
