//! The flat writer's baseline (the cursor the runner commits before the first take when the
//! channel holds none) with each naming and format: a run killed after delivering batches
//! of which none committed is cut back to it at the next start, so nothing of that run is
//! left and nothing before it is touched; and which `ROLLTIME` patterns sort by time.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::agent::sink::rolling::parquet::{Compression, ParquetSpec};
use sluice_core::io::{Fs, SimFs};
use sluice_core::Event;

fn cfg(roll_time: bool, parquet: bool) -> FlatConfig {
    let serializer = match parquet {
        true => RollSerializer::Parquet(ParquetSpec {
            columns: Vec::new(),
            compression: Compression::Zstd,
            row_group_bytes: 1 << 20,
            body_as_string: false,
            keep_id: false,
        }),
        false => RollSerializer::Text,
    };
    FlatConfig {
        directory: PathBuf::from("/out"),
        roll_interval: None,
        append_newline: true,
        path_manager: PathManager {
            roll_time,
            prefix: "ev-".into(),
            extension: if parquet { "parquet" } else { "log" }.into(),
            pattern: "%Y%m%d%H%M%S".into(),
        },
        fsync_per_batch: true,
        serializer,
        keep_event_id: false,
    }
}

fn names(fs: &dyn Fs) -> Vec<String> {
    let mut names = fs.list_dir(Path::new("/out")).unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_run_killed_before_its_first_commit_is_cut_back_to_its_baseline() {
    for (roll_time, parquet) in [(false, false), (true, false), (false, true), (true, true)] {
        let case = format!("roll_time {roll_time}, parquet {parquet}");
        let fs = SimFs::new(3);
        // An earlier run's file, named before this one's.
        let old = match (roll_time, parquet) {
            (false, false) => "ev-1000-1.log",
            (true, false) => "ev-20000101000000-1.log",
            (false, true) => "ev-1000-1.parquet",
            (true, true) => "ev-20000101000000-1.parquet",
        };
        fs.create_dir_all(Path::new("/out")).unwrap();
        sluice_core::io::write_file_atomic(&fs, &Path::new("/out").join(old), b"old\n").unwrap();
        let mut w = FlatWriter::with_fs("k1", cfg(roll_time, parquet), None, Arc::new(fs.clone()));
        let base = w.baseline().await.unwrap();
        let base = base.unwrap_or_else(|| panic!("{case}: a baseline"));
        for b in 0..3 {
            let events: Vec<Event> = (0..4).map(|i| Event::new(format!("b{b}-{i}"))).collect();
            w.deliver(&events).await.unwrap();
            if let Some(acks) = w.take_acks() {
                acks.0.await.unwrap();
            }
        }
        assert!(names(&fs).len() > 1, "{case}: the run wrote a file");
        // Killed: no take committed, so the next start gets the baseline back.
        drop(w);
        let mut w = FlatWriter::with_fs("k1", cfg(roll_time, parquet), None, Arc::new(fs.clone()));
        w.restore(base).await.unwrap();
        assert_eq!(names(&fs), vec![old.to_owned()], "{case}");
        assert_eq!(
            sluice_core::io::read_file(&fs, &Path::new("/out").join(old)).unwrap(),
            b"old\n",
            "{case}: the earlier run's file is untouched"
        );
    }
}

#[test]
fn rolltime_patterns_that_sort_by_time() {
    let pm = |pattern: &str| PathManager {
        roll_time: true,
        prefix: String::new(),
        extension: String::new(),
        pattern: pattern.into(),
    };
    for sorted in ["%Y%m%d%H%M%S", "%Y-%m-%d_%H.%M.%S.%3f", "%Y%m%d", "x%Y"] {
        assert!(pm(sorted).sorts_by_time(), "{sorted}");
    }
    for unsorted in [
        "%d%m%Y", "%y%m%d%H", "%H%M%S", "%Y%d%m", "%Y1%m", "", "log", "%%%Y",
    ] {
        assert!(!pm(unsorted).sorts_by_time(), "{unsorted}");
    }
}
