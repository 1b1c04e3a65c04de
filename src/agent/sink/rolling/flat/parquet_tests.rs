//! The flat writer's `parquet` serializer on `SimFs`: a power loss at every step of a roll
//! (each file operation of writing, syncing and renaming the Parquet file) leaves, after the
//! start settles the directory against the committed cursor, every committed row in exactly
//! one whole final file, and no row whose take did not commit.

use std::path::Path;
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

use super::*;
use crate::agent::sink::rolling::parquet::{Compression, ParquetSpec, STAGED_SUFFIX};
use sluice_core::io::{Fault, Fs, SimFs};
use sluice_core::Event;

fn writer(fs: &SimFs) -> FlatWriter {
    let cfg = FlatConfig {
        directory: PathBuf::from("/out"),
        roll_interval: None,
        append_newline: true,
        path_manager: PathManager {
            roll_time: false,
            prefix: "ev-".into(),
            extension: "parquet".into(),
            pattern: "%Y%m%d%H%M%S".into(),
        },
        fsync_per_batch: true,
        serializer: RollSerializer::Parquet(ParquetSpec {
            columns: Vec::new(),
            compression: Compression::Zstd,
            row_group_bytes: 1 << 20,
            body_as_string: false,
            keep_id: false,
        }),
        keep_event_id: false,
    };
    FlatWriter::with_fs("k1", cfg, None, Arc::new(fs.clone()))
}

async fn deliver(w: &mut FlatWriter, bodies: &[&str]) -> Vec<u8> {
    let events: Vec<Event> = bodies.iter().map(|b| Event::new(b.to_string())).collect();
    w.deliver(&events).await.unwrap();
    if let Some(acks) = w.take_acks() {
        acks.0.await.unwrap();
    }
    w.cursor().unwrap()
}

/// The bodies of every final Parquet file in `/out` (each must be whole), and the names of
/// the files that are not final.
fn finals(fs: &dyn Fs) -> (Vec<String>, Vec<String>) {
    let mut names = fs.list_dir(Path::new("/out")).unwrap_or_default();
    names.sort();
    let (mut bodies, mut other) = (Vec::new(), Vec::new());
    for n in names {
        if !n.ends_with(".parquet") {
            other.push(n);
            continue;
        }
        let bytes = sluice_core::io::read_file(fs, &Path::new("/out").join(&n)).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes))
            .unwrap_or_else(|e| panic!("{n} is not a whole Parquet file: {e}"));
        for row in reader.get_row_iter(None).unwrap() {
            let body = row.unwrap().get_bytes(2).unwrap().data().to_vec();
            bodies.push(String::from_utf8(body).unwrap());
        }
    }
    (bodies, other)
}

/// A start on `image` with `cursor` committed: what the directory then holds.
async fn start(image: &SimFs, cursor: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut w = writer(image);
    w.restore(cursor.to_vec()).await.unwrap();
    finals(image)
}

#[tokio::test]
async fn a_power_loss_at_every_step_of_a_roll_leaves_each_committed_row_in_one_whole_file() {
    let mut step = 0;
    loop {
        let fs = SimFs::new(step);
        let mut w = writer(&fs);
        let first = deliver(&mut w, &["a", "b"]).await;
        let second = deliver(&mut w, &["c"]).await;
        fs.inject(Fault::Crash {
            at: fs.op_count() + step,
        });
        w.close().await;
        let crashed = fs.has_crashed();
        for seed in 0..4 {
            let image = fs.crash_image(seed);
            let (rows, other) = start(&image, &second).await;
            assert_eq!(rows, ["a", "b", "c"], "step {step} seed {seed}");
            assert!(other.is_empty(), "step {step} seed {seed}: {other:?}");
            // The last batch's take had not committed: its row is not kept.
            let image = fs.crash_image(seed);
            let (rows, _) = start(&image, &first).await;
            assert_eq!(rows, ["a", "b"], "step {step} seed {seed}, first cursor");
        }
        if !crashed {
            break;
        }
        step += 1;
        assert!(step < 100, "a roll of a few file operations");
    }
    assert!(step > 3, "the roll's steps were crashed at: {step}");
}

#[tokio::test]
async fn a_rolled_files_staged_rows_are_removed_once_no_take_of_them_can_be_open() {
    let fs = SimFs::new(1);
    let mut w = writer(&fs);
    deliver(&mut w, &["a"]).await;
    w.close().await;
    let staged = |fs: &SimFs| {
        let names = fs.list_dir(Path::new("/out")).unwrap();
        names.iter().filter(|n| n.ends_with(STAGED_SUFFIX)).count()
    };
    assert_eq!(staged(&fs), 1, "kept while a take of its rows may be open");
    for _ in 0..=w.pipeline_depth() {
        deliver(&mut w, &["b"]).await;
    }
    assert_eq!(staged(&fs), 1, "only the open file's staged rows are left");
    assert_eq!(finals(&fs).0, ["a"]);
}

#[tokio::test]
async fn a_second_start_without_a_commit_keeps_an_older_file_whose_name_sorts_after_the_cursor() {
    use sluice_core::io::OpenMode;
    let fs = SimFs::new(3);
    fs.create_dir_all(Path::new("/out")).unwrap();
    // Written before this sink's files, under a name that sorts after them (an older
    // ROLLTIME pattern, or local time set back): committed output of an earlier run.
    let old = Path::new("/out/ev-20261101015900-1.parquet");
    fs.open(old, OpenMode::CreateNew)
        .unwrap()
        .write_all_at(b"older output", 0)
        .unwrap();
    let mut w = writer(&fs);
    let cursor = deliver(&mut w, &["a"]).await;
    w.close().await;
    // Two starts with no take committed between: the first writes the cursor's Parquet file
    // and removes its staged rows, the second has only that file's time to go by.
    for n in 1..=2 {
        let mut w = writer(&fs);
        w.restore(cursor.clone()).await.unwrap();
        assert!(fs.exists(old), "start {n} removed the older committed file");
    }
}

#[tokio::test]
async fn a_settle_that_fails_at_start_is_done_before_the_next_batch_not_skipped() {
    let fs = SimFs::new(4);
    let mut w = writer(&fs);
    let committed = deliver(&mut w, &["a"]).await;
    // Staged and synced, but its take never commits: the agent is killed.
    deliver(&mut w, &["b"]).await;
    let image = fs.crash_image(0);
    drop(w);
    let mut w = writer(&image);
    // A failing disk at start: the first operation of the settle fails.
    image.inject(Fault::Eio {
        at: image.op_count(),
    });
    assert!(w.restore(committed).await.is_err());
    // The next batch settles first: "b" cut, "a" in its file, then "c".
    deliver(&mut w, &["c"]).await;
    w.close().await;
    let (rows, _) = finals(&image);
    assert_eq!(rows, ["a", "c"]);
}

#[tokio::test]
async fn a_batch_asked_for_while_a_failed_sync_is_pending_is_not_written_behind_the_retries() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let fs = SimFs::new(5);
    let mut w = writer(&fs);
    deliver(&mut w, &["a"]).await;
    // b is staged; its acknowledgement is pending when the runner asks for c.
    let b = [Event::new("b".to_string())];
    w.deliver(&b).await.unwrap();
    let ack_b = w.take_acks().unwrap();
    // The roll that c's delivery starts with syncs b, and that sync fails.
    let failed = Arc::new(AtomicBool::new(false));
    let once = failed.clone();
    fs.on_sync(Some(Arc::new(move || {
        if once.swap(true, Ordering::SeqCst) {
            Ok(())
        } else {
            Err(std::io::Error::other("injected EIO"))
        }
    })));
    w.roll_at = Some(tokio::time::Instant::now());
    let settled = w.acks_settled();
    let c = [Event::new("c".to_string())];
    let c_outcome = w.deliver_after(&c, settled).await;
    if let Some(acks) = w.take_acks() {
        let _ = acks.0.await;
    }
    assert!(failed.load(Ordering::SeqCst), "the roll synced");
    assert!(ack_b.0.await.is_err(), "b's sync failed");
    // The runner rolls back b and c, and hands both again.
    assert!(c_outcome.is_err(), "c was staged behind the failure");
    fs.on_sync(None);
    deliver(&mut w, &["b"]).await;
    deliver(&mut w, &["c"]).await;
    w.close().await;
    assert_eq!(finals(&fs).0, ["a", "b", "c"]);
}
