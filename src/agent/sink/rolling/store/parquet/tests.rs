//! `serializer = parquet` through [`ParquetStore`] on `SimFs` (a local `hdfs.path` as the
//! store behind it): a power loss at every step of a roll (the rows synced, the Parquet file
//! built, handed over, published, the rows moved) leaves, after the start cuts back to the
//! committed cursor and finishes what was in use, every committed row in exactly one whole
//! final file, no row whose take did not commit, and no in-use file.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

use super::*;
use crate::agent::sink::rolling::config::{
    FileType, ParquetOut, RollingConfig, Serializer, WriteFormat,
};
use crate::agent::sink::rolling::parquet::Compression;
use crate::agent::sink::rolling::path::{HostNames, Zone};
use crate::agent::sink::rolling::resume::decode;
use crate::agent::sink::rolling::RollingWriter;
use sluice_core::io::{Fault, SimFs};
use sluice_core::Event;

fn spec() -> ParquetSpec {
    ParquetSpec {
        columns: Vec::new(),
        compression: Compression::Zstd,
        row_group_bytes: 1 << 20,
        body_as_string: false,
        keep_id: false,
    }
}

fn cfg() -> RollingConfig {
    RollingConfig {
        path: "/out".into(),
        remote: None,
        s3: None,
        file_prefix: "FlumeData".into(),
        file_suffix: ".parquet".into(),
        in_use_prefix: String::new(),
        in_use_suffix: ".tmp".into(),
        roll_interval: None,
        roll_size: None,
        roll_count: None,
        idle_timeout: None,
        batch_size: 100,
        file_type: FileType::DataStream,
        codec: None,
        write_format: WriteFormat::Writable,
        max_open_files: 50,
        max_buffer_bytes: 64 << 20,
        round: None,
        zone: Zone::parse("UTC").unwrap(),
        use_local_timestamp: false,
        close_tries: 0,
        retry_interval: std::time::Duration::from_secs(180),
        call_timeout: std::time::Duration::from_secs(30),
        serializer: Serializer::Text,
        serializer_class: None,
        append_newline: true,
        sync_interval_bytes: 2_048_000,
        fsync_per_batch: true,
        keep_event_id: false,
        keys: Default::default(),
        parquet: Some(ParquetOut {
            spec: spec(),
            staging_dir: "/stage".into(),
        }),
    }
}

/// A started writer on `fs`, cut back to `cursor` when given.
fn started(fs: &SimFs, cursor: Option<&[u8]>) -> RollingWriter {
    let fs: Arc<dyn Fs> = Arc::new(fs.clone());
    let inner: Arc<dyn Store> = Arc::new(LocalStore::new(fs.clone()));
    let store = ParquetStore::new(
        inner,
        fs,
        "/stage".into(),
        spec(),
        (String::new(), ".tmp".into()),
    );
    let mut w =
        RollingWriter::on_store(cfg(), Arc::new(store), HostNames::default(), 1000).unwrap();
    let resume = cursor.map(|c| decode(c).unwrap());
    w.recover(resume.as_ref()).unwrap();
    w
}

fn write(w: &mut RollingWriter, bodies: &[&str]) -> Vec<u8> {
    let events: Vec<Event> = bodies.iter().map(|b| Event::new(b.to_string())).collect();
    w.write_batch(&events, Instant::now(), 0).unwrap();
    w.cursor().unwrap()
}

/// The bodies of every final file in `/out` (each must be a whole Parquet file), and the
/// names of the files that are not final (in `/out` or staged as open).
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
    let open = fs
        .list_dir(Path::new("/stage/open/out"))
        .unwrap_or_default();
    other.extend(open.into_iter().map(|n| format!("open/{n}")));
    (bodies, other)
}

#[test]
fn a_power_loss_at_every_step_of_a_roll_leaves_each_committed_row_in_one_whole_file() {
    let mut step = 0;
    loop {
        let fs = SimFs::new(step);
        let mut w = started(&fs, None);
        let first = write(&mut w, &["a", "b"]);
        let second = write(&mut w, &["c"]);
        fs.inject(Fault::Crash {
            at: fs.op_count() + step,
        });
        let _ = w.close_all(Instant::now());
        let crashed = fs.has_crashed();
        for seed in 0..4 {
            let image = fs.crash_image(seed);
            started(&image, Some(&second));
            let (rows, other) = finals(&image);
            assert_eq!(rows, ["a", "b", "c"], "step {step} seed {seed}");
            assert!(other.is_empty(), "step {step} seed {seed}: {other:?}");
            // The last batch's take had not committed: its row is not kept.
            let image = fs.crash_image(seed);
            started(&image, Some(&first));
            let (rows, other) = finals(&image);
            assert_eq!(rows, ["a", "b"], "step {step} seed {seed}, first cursor");
            assert!(other.is_empty(), "step {step} seed {seed}: {other:?}");
        }
        if !crashed {
            break;
        }
        step += 1;
        assert!(step < 200, "a roll of a few dozen file operations");
    }
    assert!(step > 5, "the roll's steps were crashed at: {step}");
}

#[test]
fn a_rolled_files_rows_are_kept_for_a_cut_back_then_removed() {
    let fs = SimFs::new(1);
    let mut w = started(&fs, None);
    let before = write(&mut w, &["a"]);
    w.close_all(Instant::now()).unwrap();
    let rows = |fs: &SimFs| {
        fs.list_dir(Path::new("/stage/rows/out"))
            .unwrap_or_default()
    };
    assert_eq!(
        rows(&fs).len(),
        1,
        "kept while a take of its rows may be open"
    );
    // A start cut back to a cursor taken before the roll writes the file from them again.
    let image = fs.crash_image(1);
    started(&image, Some(&before));
    assert_eq!(finals(&image).0, ["a"]);
    for _ in 0..=KEEP_ROWS_BATCHES {
        write(&mut w, &["b"]);
    }
    assert!(rows(&fs).is_empty(), "{:?}", rows(&fs));
    w.close_all(Instant::now()).unwrap();
    let (bodies, other) = finals(&fs);
    assert_eq!(bodies.len(), 2 + KEEP_ROWS_BATCHES as usize);
    assert!(other.is_empty(), "{other:?}");
}
