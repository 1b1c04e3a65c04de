//! The sink's serializers on the real disk: `TEXT`, `HEADER_AND_TEXT` (Flume's order, the
//! event id left out unless `keepEventId`) and `AVRO_EVENT` (read back by `apache-avro`, one
//! block per batch, Flume's schema).

use super::config::{PathManager, RollSerializer};
use super::*;

fn cfg(dir: &std::path::Path, serializer: RollSerializer, keep_event_id: bool) -> FileRollConfig {
    FileRollConfig {
        directory: dir.to_owned(),
        roll_interval: None,
        batch_size: 100,
        append_newline: true,
        path_manager: PathManager {
            roll_time: false,
            prefix: String::new(),
            extension: String::new(),
            pattern: "%Y%m%d%H%M%S".into(),
        },
        fsync_per_batch: true,
        serializer,
        java_serializer: None,
        keep_event_id,
    }
}

fn event(body: &str) -> Event {
    Event::new(body)
        .header("timestamp", "1795746851140")
        .header("host", "h1")
        .header(sluice_core::dedup::EVENT_ID_HEADER, "0000000000000007:3")
}

/// Delivers `batches` through a sink of `cfg`, waiting for each acknowledgement; the bytes
/// of the one file it wrote.
async fn written(cfg: FileRollConfig, batches: &[&[&str]]) -> Vec<u8> {
    let dir = cfg.directory.clone();
    let mut sink = FileRollSink::new("k1", &cfg);
    for b in batches {
        let events: Vec<Event> = b.iter().map(|s| event(s)).collect();
        sink.deliver(events).await.unwrap();
        if let Some(acks) = sink.take_acks() {
            acks.0.await.unwrap();
        }
    }
    sink.stop().await;
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    std::fs::read(files[0].as_ref().unwrap().path()).unwrap()
}

#[tokio::test]
async fn header_and_text_writes_flumes_headers_without_the_event_id() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cfg(tmp.path(), RollSerializer::HeaderAndText, false);
    let got = written(c, &[&["a", "b"], &["c"]]).await;
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "{host=h1, timestamp=1795746851140} a\n{host=h1, timestamp=1795746851140} b\n\
         {host=h1, timestamp=1795746851140} c\n"
    );
}

#[tokio::test]
async fn keep_event_id_writes_the_id_among_the_headers_and_text_writes_bodies_only() {
    let tmp = tempfile::tempdir().unwrap();
    let kept = written(
        cfg(tmp.path(), RollSerializer::HeaderAndText, true),
        &[&["a"]],
    )
    .await;
    let kept = String::from_utf8(kept).unwrap();
    assert!(kept.contains("sluiceId=0000000000000007:3"), "{kept}");
    let tmp = tempfile::tempdir().unwrap();
    let text = written(cfg(tmp.path(), RollSerializer::Text, false), &[&["a", "b"]]).await;
    assert_eq!(text, b"a\nb\n");
}

#[tokio::test]
async fn avro_event_is_an_avro_container_of_flumes_schema_readable_after_each_batch() {
    use apache_avro::types::Value;
    let tmp = tempfile::tempdir().unwrap();
    let c = cfg(
        tmp.path(),
        RollSerializer::AvroEvent {
            sync_interval_bytes: 2_048_000,
        },
        false,
    );
    let got = written(c, &[&["a", "b"], &["c"]]).await;
    let reader = apache_avro::Reader::new(&got[..]).unwrap();
    let mut bodies = Vec::new();
    for v in reader {
        let Value::Record(fields) = v.unwrap() else {
            panic!("not a record")
        };
        let Value::Map(h) = &fields[0].1 else {
            panic!("headers not a map")
        };
        assert_eq!(h.get("host"), Some(&Value::String("h1".into())));
        assert!(!h.contains_key(sluice_core::dedup::EVENT_ID_HEADER));
        let Value::Bytes(b) = &fields[1].1 else {
            panic!("body not bytes")
        };
        bodies.push(String::from_utf8(b.clone()).unwrap());
    }
    assert_eq!(bodies, ["a", "b", "c"]);
}
