//! Flume's transaction semantics on the public API, on both the real and the simulated disk.

use crate::common::*;
use sluice_core::ChannelError;
use sluice_core::RecoverySource;

#[test]
fn committed_puts_come_out_in_order_and_takes_are_final_once_committed() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        put_all(&ch, &["a", "b"]);
        put_all(&ch, &["c"]);
        assert_eq!(drain(&ch), vec!["a", "b", "c"]);
        assert!(drain(&ch).is_empty());
        assert_eq!(ch.stats().queued, 0);
    }
}

#[test]
fn uncommitted_and_rolled_back_puts_are_never_visible() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        let mut open_tx = ch.transaction();
        open_tx.put(ev("pending")).unwrap();
        let mut rb = ch.transaction();
        rb.put(ev("rolled")).unwrap();
        rb.rollback();
        assert!(peek_all(&ch).is_empty());
        {
            let mut dropped = ch.transaction();
            dropped.put(ev("dropped")).unwrap();
        }
        open_tx.commit().unwrap();
        assert_eq!(drain(&ch), vec!["pending"]);
    }
}

#[test]
fn rolled_back_takes_return_to_the_head_in_their_original_order() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        put_all(&ch, &["1", "2", "3", "4"]);
        let mut tx = ch.transaction();
        assert_eq!(tx.take().unwrap().unwrap().body, &b"1"[..]);
        assert_eq!(tx.take().unwrap().unwrap().body, &b"2"[..]);
        let mut other = ch.transaction();
        assert_eq!(other.take().unwrap().unwrap().body, &b"3"[..]);
        tx.rollback();
        other.rollback();
        assert_eq!(drain(&ch), vec!["1", "2", "3", "4"]);
    }
}

#[test]
fn a_transaction_may_hold_puts_and_takes_together() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        put_all(&ch, &["old"]);
        let mut tx = ch.transaction();
        assert_eq!(tx.take().unwrap().unwrap().body, &b"old"[..]);
        tx.put(ev("new")).unwrap();
        tx.commit().unwrap();
        drop(ch);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch), vec!["new"]);
    }
}

#[test]
fn a_full_channel_refuses_puts_after_keep_alive_and_hands_the_event_back() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        cfg.capacity = 2;
        cfg.transaction_capacity = 2;
        let ch = bed.open(&cfg);
        put_all(&ch, &["a", "b"]);
        let mut tx = ch.transaction();
        let err = tx.put(ev("c")).unwrap_err();
        assert!(
            matches!(err, ChannelError::Full { capacity: 2, .. }),
            "{err}"
        );
        assert_eq!(err.into_event().unwrap().body, &b"c"[..]);
        drop(tx);
        assert_eq!(drain(&ch).len(), 2);
        put_all(&ch, &["c"]);
    }
}

#[test]
fn transaction_capacity_is_an_error_not_a_panic() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        cfg.transaction_capacity = 2;
        let ch = bed.open(&cfg);
        let mut tx = ch.transaction();
        tx.put(ev("1")).unwrap();
        tx.put(ev("2")).unwrap();
        let err = tx.put(ev("3")).unwrap_err();
        assert!(matches!(err, ChannelError::TransactionFull { .. }));
        tx.commit().unwrap();
        put_all(&ch, &["3"]);
        let mut tx = ch.transaction();
        tx.take().unwrap();
        tx.take().unwrap();
        assert!(matches!(
            tx.take().unwrap_err(),
            ChannelError::TransactionFull { event: None, .. }
        ));
    }
}

#[test]
fn reopening_recovers_exactly_the_committed_state() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let ch = bed.open(&cfg);
        put_all(&ch, &["a", "b", "c"]);
        let mut tx = ch.transaction();
        tx.take().unwrap();
        tx.commit().unwrap();
        let mut pending = ch.transaction();
        pending.put(ev("uncommitted")).unwrap();
        let mut taken = ch.transaction();
        taken.take().unwrap();
        // Closing with both transactions open: the checkpoint keeps the taken event queued.
        ch.close().unwrap();
        let reopened = bed.open(&cfg);
        assert_eq!(drain(&reopened), vec!["b", "c"]);
        drop((pending, taken, ch));
    }
}

#[test]
fn a_second_open_of_the_same_directories_is_refused_with_a_clear_error() {
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let _ch = bed.open(&cfg);
        let err = sluice_core::FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()).unwrap_err();
        assert!(matches!(err, ChannelError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("in use"));
    }
}

#[test]
fn reopen_after_a_clean_close_starts_from_the_checkpoint_even_with_a_new_capacity() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        let ch = bed.open(&cfg);
        put_all(&ch, &["a", "b"]);
        ch.close().unwrap();
        drop(ch);
        cfg.capacity = 5_000;
        let ch = bed.open(&cfg);
        let info = ch.recovery_info();
        assert_eq!(info.source, RecoverySource::Checkpoint);
        assert_eq!(info.report.records, 0, "nothing should be replayed");
        assert_eq!(drain(&ch), vec!["a", "b"]);
    }
}

#[test]
fn segments_are_deleted_once_drained_and_checkpointed() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        cfg.max_file_size_bytes = 4096;
        let ch = bed.open(&cfg);
        for i in 0..50 {
            put_all(&ch, &[&format!("{i:0100}")]);
        }
        assert!(ch.segments().len() > 2);
        assert_eq!(drain(&ch).len(), 50);
        ch.checkpoint().unwrap();
        assert!(ch.segments().len() <= 2, "{:?}", ch.segments());
        assert!(ch.stats().segments_deleted > 0);
        drop(ch);
        let ch = bed.open(&cfg);
        assert!(drain(&ch).is_empty());
    }
}

#[test]
fn without_fsync_per_transaction_commits_skip_the_fsync_and_close_makes_them_durable() {
    for bed in Bed::both() {
        let mut cfg = bed.config(1);
        cfg.fsync_per_transaction = false;
        let ch = bed.open(&cfg);
        let before = ch.stats().fsyncs;
        for i in 0..20 {
            put_all(&ch, &[&i.to_string()]);
        }
        assert_eq!(ch.stats().fsyncs, before, "commits must not fsync");
        ch.close().unwrap();
        drop(ch);
        let ch = bed.open(&cfg);
        assert_eq!(drain(&ch).len(), 20);
    }
}

#[test]
fn a_damaged_event_fails_its_take_with_file_and_offset_and_salvage_skips_it() {
    let bed = Bed::sim(2);
    let mut cfg = bed.config(1);
    // Read from the file, not from the event cache (which holds the events as put).
    cfg.tail_cache_bytes = 0;
    let ch = bed.open(&cfg);
    put_all(&ch, &["first", "second", "third"]);
    let (_, path, _) = ch.segments().into_iter().last().unwrap();
    // The first put record starts right after the 32-byte segment header; damage its body.
    bed.sim
        .as_ref()
        .unwrap()
        .corrupt_byte(&path, 32 + 40)
        .unwrap();
    let mut tx = ch.transaction();
    let err = tx.take().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains(":32:"),
        "{msg}"
    );
    tx.rollback();
    assert_eq!(ch.stats().take_errors, 1);
    ch.close().unwrap();
    drop(ch);
    cfg.recovery_policy = sluice_core::RecoveryPolicy::Salvage;
    let ch = bed.open(&cfg);
    assert_eq!(drain(&ch), vec!["second", "third"]);
}

#[test]
fn a_flume_file_channel_is_named_as_such_and_left_untouched() {
    use sluice_core::io::OpenMode;
    for bed in Bed::both() {
        let cfg = bed.config(1);
        // The files Flume 1.11 leaves: a checkpoint with its meta and inflight files, and a
        // data file with its meta.
        let flume_files = [
            (cfg.checkpoint_dir.clone(), "checkpoint"),
            (cfg.checkpoint_dir.clone(), "checkpoint.meta"),
            (cfg.checkpoint_dir.clone(), "inflightputs"),
            (cfg.data_dirs[0].clone(), "log-1"),
            (cfg.data_dirs[0].clone(), "log-1.meta"),
        ];
        for (dir, name) in &flume_files {
            bed.fs.create_dir_all(dir).unwrap();
            bed.fs.open(&dir.join(name), OpenMode::CreateNew).unwrap();
        }
        let before: Vec<_> = [&cfg.checkpoint_dir, &cfg.data_dirs[0]]
            .iter()
            .map(|d| bed.fs.list_dir(d).unwrap())
            .collect();
        let err = sluice_core::FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()).unwrap_err();
        assert!(matches!(err, ChannelError::FlumeChannel { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("Apache Flume file channel"), "{msg}");
        assert!(msg.contains("checkpoint.meta, inflightputs"), "{msg}");
        assert!(msg.contains("adoptFlumeChannel = true"), "{msg}");
        assert!(msg.contains("sluice channel adopt"), "{msg}");
        let err = sluice_core::inspect::verify(bed.fs.clone(), &cfg).unwrap_err();
        assert!(matches!(err, ChannelError::FlumeChannel { .. }), "{err}");
        // Only the data directory has Flume's files: still recognised, by `log-N.meta`.
        bed.fs
            .remove_file(&cfg.checkpoint_dir.join("checkpoint.meta"))
            .unwrap();
        bed.fs
            .remove_file(&cfg.checkpoint_dir.join("inflightputs"))
            .unwrap();
        let err = sluice_core::FileChannel::open_with_fs(cfg.clone(), bed.fs.clone()).unwrap_err();
        assert!(err.to_string().contains("(log-1.meta)"), "{err}");
        // Nothing was created, renamed or removed beyond what the test itself removed.
        assert_eq!(bed.fs.list_dir(&cfg.data_dirs[0]).unwrap(), before[1]);
        assert_eq!(
            bed.fs.list_dir(&cfg.checkpoint_dir).unwrap(),
            vec!["checkpoint"]
        );
    }
}

#[test]
fn take_cached_serves_puts_from_memory_in_order_and_leaves_file_reads_to_take() {
    use sluice_core::Cached;
    for bed in Bed::both() {
        let cfg = bed.config(1);
        let ch = bed.open(&cfg);
        // A taker that found the queue empty: the puts after it are kept in memory for it.
        assert!(matches!(ch.transaction().take_cached(), Ok(Cached::Empty)));
        put_all(&ch, &["a", "b", "c"]);
        let mut tx = ch.transaction();
        for want in ["a", "b"] {
            match tx.take_cached() {
                Ok(Cached::Event(e)) => assert_eq!(e.body, want.as_bytes()),
                other => panic!("{want}: {other:?}"),
            }
        }
        tx.rollback();
        // Rolled back: the two events are back at the head but no longer in memory, so
        // `take_cached` takes nothing and `take` reads them in their order.
        let mut tx = ch.transaction();
        assert!(matches!(tx.take_cached(), Ok(Cached::Later)));
        assert_eq!(tx.take().unwrap().unwrap().body, &b"a"[..]);
        assert_eq!(tx.take().unwrap().unwrap().body, &b"b"[..]);
        assert!(matches!(tx.take_cached(), Ok(Cached::Event(e)) if e.body == b"c"[..]));
        assert!(matches!(tx.take_cached(), Ok(Cached::Empty)));
        tx.commit().unwrap();
        assert!(drain(&ch).is_empty());
    }
}
