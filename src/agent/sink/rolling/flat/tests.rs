//! The flat writer on `SimFs`: what a batch's acknowledgement makes durable (a crash image
//! keeps it, the new file's directory entry included), and the cut-back after a failed fsync
//! and after a torn write.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::agent::sink::SinkError;
use sluice_core::io::{Fs, SimFs};
use sluice_core::Event;

fn cfg(dir: &str) -> FlatConfig {
    FlatConfig {
        directory: PathBuf::from(dir),
        roll_interval: None,
        append_newline: true,
        path_manager: PathManager {
            roll_time: false,
            prefix: "ev-".into(),
            extension: "log".into(),
            pattern: "%Y%m%d%H%M%S".into(),
        },
        fsync_per_batch: true,
        serializer: RollSerializer::Text,
        keep_event_id: false,
    }
}

fn writer(fs: &SimFs) -> FlatWriter {
    FlatWriter::with_fs("k1", cfg("/out"), None, Arc::new(fs.clone()))
}

fn batch(bodies: &[&str]) -> Vec<Event> {
    bodies.iter().map(|b| Event::new(b.to_string())).collect()
}

/// Delivers a batch and awaits its acknowledgement.
async fn deliver(w: &mut FlatWriter, bodies: &[&str]) -> Result<(), SinkError> {
    w.deliver(&batch(bodies)).await?;
    match w.take_acks() {
        Some(acks) => acks.0.await,
        None => Ok(()),
    }
}

/// The contents of every file in `/out`, sorted by name.
fn contents(fs: &dyn Fs) -> Vec<String> {
    let dir = Path::new("/out");
    let mut names = fs.list_dir(dir).unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|n| {
            let bytes = sluice_core::io::read_file(fs, &dir.join(n)).unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn an_acknowledged_batch_survives_a_crash_with_its_new_files_name() {
    let fs = SimFs::new(7);
    let mut w = writer(&fs);
    deliver(&mut w, &["a", "b"]).await.unwrap();
    deliver(&mut w, &["c"]).await.unwrap();
    for seed in 0..8 {
        assert_eq!(
            contents(&fs.crash_image(seed)),
            ["a\nb\nc\n"],
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn a_failed_fsync_cuts_the_file_back_to_its_last_synced_batch_and_a_new_file_starts() {
    let fs = SimFs::new(8);
    let mut w = writer(&fs);
    deliver(&mut w, &["a", "b"]).await.unwrap();
    fs.on_sync(Some(Arc::new(|| {
        Err(std::io::Error::other("injected EIO"))
    })));
    let e = deliver(&mut w, &["lost"]).await.unwrap_err();
    assert!(e.to_string().contains("fdatasync"), "{e}");
    fs.on_sync(None);
    // The runner hands the failed batch again: it goes to a new file, once.
    deliver(&mut w, &["lost"]).await.unwrap();
    assert_eq!(contents(&fs), ["a\nb\n", "lost\n"]);
    let cursor = w.cursor().unwrap();
    let (file, len) = super::resume::decode(&cursor).unwrap();
    assert!(file.to_string_lossy().ends_with("-2.log"), "{file:?}");
    assert_eq!(len, 5);
}

#[tokio::test]
async fn without_fsync_a_torn_write_is_cut_from_its_file_and_the_batch_goes_to_a_new_one() {
    let fs = SimFs::new(9);
    let mut c = cfg("/out");
    c.fsync_per_batch = false;
    let mut w = FlatWriter::with_fs("k1", c, None, Arc::new(fs.clone()));
    deliver(&mut w, &["a"]).await.unwrap();
    // The next file operation is the batch's write: ENOSPC after a random part of it.
    fs.inject(sluice_core::io::Fault::Enospc { at: fs.op_count() });
    let e = deliver(&mut w, &["torn", "batch"]).await.unwrap_err();
    assert!(e.to_string().contains("writing"), "{e}");
    assert_eq!(contents(&fs), ["a\n"], "the torn bytes are cut");
    deliver(&mut w, &["torn", "batch"]).await.unwrap();
    assert_eq!(contents(&fs), ["a\n", "torn\nbatch\n"]);
}
