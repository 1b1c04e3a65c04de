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
