//! Cursors committed with a take (`set_cursor`): the last committed value across reopen and
//! checkpoint, never a rolled-back one, and none trusted without a checkpoint.

use super::send;
use crate::common::Bed;
use sluice_core::FileChannel;

/// Takes one event and commits the take with cursor `key` = `value`.
fn take_with_cursor(ch: &FileChannel, key: &str, value: &str) {
    let mut tx = ch.transaction();
    assert!(tx.take().unwrap().is_some());
    tx.set_cursor(key, value.as_bytes().to_vec()).unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_cursor_is_the_last_committed_value_across_reopen_and_checkpoint_never_a_rolled_back_one() {
    for bed in Bed::both() {
        let cfg = bed.config(2);
        let ch = bed.open(&cfg);
        assert_eq!(send(&ch, 1..=4), 4);
        assert_eq!(ch.cursor("k1"), None);
        take_with_cursor(&ch, "k1", "file-1:10");
        take_with_cursor(&ch, "k1", "file-1:20");
        let mut tx = ch.transaction();
        assert!(tx.take().unwrap().is_some());
        tx.set_cursor("k1", b"rolled back".to_vec()).unwrap();
        tx.rollback();
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-1:20"[..]));
        ch.checkpoint().unwrap();
        take_with_cursor(&ch, "k1", "file-2:5");
        drop(ch); // the last one only in the log
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-2:5"[..]));
        ch.close().unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1").as_deref(), Some(&b"file-2:5"[..]));
        let mut tx = ch.transaction();
        let too_long = vec![0u8; 5000];
        assert!(tx.set_cursor("k1", too_long).is_err());
        drop(tx);
        ch.close().unwrap();
        // Without a checkpoint, no cursor is trusted (it could be older than the last).
        bed.fs
            .remove_file(&cfg.checkpoint_dir.join("checkpoint"))
            .unwrap();
        let ch = bed.open(&cfg);
        assert_eq!(ch.cursor("k1"), None);
        ch.close().unwrap();
    }
}
