//! The Parquet writer read back by the `parquet` crate's own reader: rows, the schema's
//! columns, a timestamp that is not a number as null.

use super::stage::Row;
use super::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

fn spec() -> ParquetSpec {
    ParquetSpec {
        columns: vec!["host".to_owned()],
        compression: Compression::Zstd,
        row_group_bytes: 64,
        body_as_string: false,
        keep_id: false,
    }
}

fn row(ts: &str, host: Option<&str>, body: &[u8]) -> Row {
    let mut headers = vec![("timestamp".to_owned(), ts.to_owned())];
    if let Some(h) = host {
        headers.push(("host".to_owned(), h.to_owned()));
    }
    Row {
        headers,
        body: body.to_vec(),
    }
}

#[test]
fn rows_are_written_in_row_groups_of_the_bound_and_read_back_with_their_lifted_columns() {
    let mut w = ParquetWriter::new(&spec(), Vec::new()).unwrap();
    w.add(row("1700000000000", Some("a"), b"one")).unwrap();
    w.add(row("not-a-number", None, b"")).unwrap();
    w.add(row("17", Some("c"), &[0xff; 100])).unwrap();
    assert_eq!(w.odd.bad_timestamps, 1);
    let bytes = w.finish().unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 3);
    assert!(meta.num_row_groups() >= 2, "64-byte row groups");
    let leaves: Vec<String> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.path().string())
        .collect();
    let hosts: Vec<Option<String>> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap().get_string(3).ok().cloned())
        .collect();
    assert_eq!(hosts, [Some("a".to_owned()), None, Some("c".to_owned())]);
    assert_eq!(
        leaves,
        [
            "timestamp",
            "headers.key_value.key",
            "headers.key_value.value",
            "body",
            "host"
        ]
    );
}

#[test]
fn rows_encoded_in_several_batches_per_row_group_read_back_exactly() {
    let spec = ParquetSpec {
        row_group_bytes: 2 << 20,
        ..spec()
    };
    let mut w = ParquetWriter::new(&spec, Vec::new()).unwrap();
    let body = |i: usize| format!("{i:06} {}", "x".repeat(1000)).into_bytes();
    for i in 0..5000 {
        let host = (i % 3 != 0).then(|| format!("h{}", i % 7));
        w.add(row(&i.to_string(), host.as_deref(), &body(i)))
            .unwrap();
    }
    let bytes = w.finish().unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 5000);
    assert!(
        (2..=4).contains(&reader.metadata().num_row_groups()),
        "2 MiB row groups of 1 MiB encode batches: {}",
        reader.metadata().num_row_groups()
    );
    for (i, r) in reader.get_row_iter(None).unwrap().enumerate() {
        let r = r.unwrap();
        assert_eq!(r.get_timestamp_millis(0).unwrap(), i as i64);
        assert_eq!(r.get_bytes(2).unwrap().data(), body(i).as_slice());
        let host = r.get_string(3).ok().cloned();
        assert_eq!(host, (i % 3 != 0).then(|| format!("h{}", i % 7)), "row {i}");
    }
}

mod beside {
    use std::path::Path;
    use std::sync::Arc;

    use super::super::background::Background;
    use super::super::{convert, stage};
    use super::spec;
    use sluice_core::io::{read_file, Fs, OpenMode, SimFs};
    use sluice_core::Event;

    fn event(ts: &str, host: Option<&str>, body: &[u8]) -> Event {
        let mut h: Vec<(String, String)> = vec![("timestamp".to_owned(), ts.to_owned())];
        if let Some(host) = host {
            h.push(("host".to_owned(), host.to_owned()));
        }
        h.push(("sluiceId".to_owned(), "s-1-2".to_owned()));
        h.push(("level".to_owned(), "\u{e9}".to_owned()));
        let map: std::collections::BTreeMap<String, String> = h.into_iter().collect();
        Event::with_headers(map, body.to_vec())
    }

    fn batches() -> Vec<Vec<Event>> {
        vec![
            vec![
                event("1700000000000", Some("a"), b"one"),
                event("not-a-number", None, b""),
            ],
            vec![event("17", Some("c"), &[0xff; 100])],
            (0..40)
                .map(|i| event(&i.to_string(), Some("d"), &[b'x'; 30]))
                .collect(),
        ]
    }

    /// Stages `batches` in `/d/a.parquet.rows` and hands each to a [`Background`] of
    /// `/d/a.parquet`: it and the staged files' lengths after each batch.
    async fn stage_and_feed(fs: &SimFs, batches: &[Vec<Event>]) -> (Background, Vec<u64>) {
        fs.create_dir_all(Path::new("/d")).unwrap();
        let staged = fs
            .open(Path::new("/d/a.parquet.rows"), OpenMode::CreateNew)
            .unwrap();
        let fs_arc: Arc<dyn Fs> = Arc::new(fs.clone());
        let mut bg = Background::start(fs_arc, spec(), "/d/a.parquet".into());
        let (mut at, mut ends) = (0u64, Vec::new());
        for b in batches {
            let mut bytes = Vec::new();
            stage::encode_batch(&mut bytes, b, false);
            staged.write_all_at(&bytes, at).unwrap();
            at += bytes.len() as u64;
            bg.feed(b, at).await;
            ends.push(at);
        }
        staged.sync_data().unwrap();
        (bg, ends)
    }

    #[tokio::test]
    async fn a_file_written_beside_the_deliveries_is_byte_for_byte_the_one_its_staged_rows_make() {
        let fs = SimFs::new(7);
        let (bg, ends) = stage_and_feed(&fs, &batches()).await;
        let published = bg.finish(ends[2]).await.unwrap().unwrap();
        assert_eq!(published.rows, 43);
        assert_eq!(published.staged_bytes, ends[2]);
        assert_eq!(published.odd.bad_timestamps, 1);
        let from_staged = convert::publish(
            &fs,
            &spec(),
            Path::new("/d/a.parquet.rows"),
            Path::new("/d/b.parquet"),
            None,
        )
        .unwrap();
        assert_eq!(from_staged, published);
        let beside = read_file(&fs, Path::new("/d/a.parquet")).unwrap();
        assert!(beside.len() > 100, "a whole file");
        assert_eq!(beside, read_file(&fs, Path::new("/d/b.parquet")).unwrap());
        assert!(!fs.exists(Path::new("/d/a.parquet.tmp")));
    }

    #[tokio::test]
    async fn a_file_beside_the_deliveries_without_exactly_the_kept_rows_is_given_up() {
        let fs = SimFs::new(7);
        let (bg, ends) = stage_and_feed(&fs, &batches()).await;
        // A failed fsync cut the staged file back to its first batch.
        assert!(bg.finish(ends[0]).await.is_none());
        assert!(!fs.exists(Path::new("/d/a.parquet")), "no final file");
        assert!(
            !fs.exists(Path::new("/d/a.parquet.tmp")),
            "its .tmp removed"
        );
    }
}
