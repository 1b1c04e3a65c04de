//! The flat writer with a serializer it was handed (file_roll's `sink.serializer` naming a
//! class) on `SimFs`: every byte of a file is the serializer's (its header, each batch, its
//! footer), `Sync` and `Async` answers alike, and at start the last committed file is cut back
//! to its cursor and finished through the serializer's reopen and close, durably, through the
//! writer's own file system.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::agent::sink::rolling::serializer::{StartSerializer, Step, StreamSerializer};
use sluice_core::io::{Fs, SimFs};
use sluice_core::Event;

/// A serializer that marks each part of a file: `[H]` first, each batch's bodies then `;`
/// (answered later, as the Java host does), `[F]` last, `[R]` on reopening.
#[derive(Debug)]
struct Marks;

impl StreamSerializer for Marks {
    fn create(&self, _stream: u32) -> Step<Vec<u8>> {
        Step::Sync(Ok(b"[H]".to_vec()))
    }
    fn write(&self, _stream: u32, events: Vec<Event>) -> Step<Vec<u8>> {
        Step::Async(Box::pin(async move {
            let mut out: Vec<u8> = events.iter().flat_map(|e| e.body.to_vec()).collect();
            out.push(b';');
            Ok(out)
        }))
    }
    fn close(&self, _stream: u32) -> Step<Vec<u8>> {
        Step::Sync(Ok(b"[F]".to_vec()))
    }
    fn reopen(&self, _stream: u32) -> Step<Vec<u8>> {
        Step::Sync(Ok(b"[R]".to_vec()))
    }
}

fn writer(fs: &SimFs) -> FlatWriter {
    let cfg = FlatConfig {
        directory: PathBuf::from("/out"),
        roll_interval: None,
        append_newline: false,
        path_manager: PathManager {
            roll_time: false,
            prefix: "ev-".into(),
            extension: String::new(),
            pattern: "%Y%m%d%H%M%S".into(),
        },
        fsync_per_batch: true,
        serializer: RollSerializer::Text,
        keep_event_id: false,
    };
    let start = StartSerializer(Arc::new(|| Arc::new(Marks) as Arc<dyn StreamSerializer>));
    FlatWriter::with_fs("k1", cfg, Some(start), Arc::new(fs.clone()))
}

async fn deliver(w: &mut FlatWriter, bodies: &[&str]) {
    let events: Vec<Event> = bodies.iter().map(|b| Event::new(b.to_string())).collect();
    w.deliver(&events).await.unwrap();
    if let Some(acks) = w.take_acks() {
        acks.0.await.unwrap();
    }
}

/// The contents of every file in `/out`, sorted by name.
fn contents(fs: &dyn Fs) -> Vec<String> {
    let dir = Path::new("/out");
    let mut names = fs.list_dir(dir).unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|n| String::from_utf8(sluice_core::io::read_file(fs, &dir.join(n)).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_handed_serializer_writes_every_byte_and_the_last_committed_file_is_finished_again_at_start(
) {
    let fs = SimFs::new(11);
    let mut w = writer(&fs);
    deliver(&mut w, &["a", "b"]).await;
    let committed = w.cursor().unwrap();
    deliver(&mut w, &["c"]).await;
    w.close().await;
    assert_eq!(contents(&fs), ["[H]ab;c;[F]"]);

    // A new run whose channel committed only the first batch: "c;" and the footer after it
    // are cut, and the file is finished again through reopen and close, durably.
    let mut again = writer(&fs);
    again.restore(committed).await.unwrap();
    assert_eq!(contents(&fs), ["[H]ab;[R][F]"]);
    for seed in 0..4 {
        assert_eq!(
            contents(&fs.crash_image(seed)),
            ["[H]ab;[R][F]"],
            "seed {seed}"
        );
    }
}
