//! Fuzz body: Flume's file channel reader (`sluice_flume`). The input is one Flume
//! `log-1` on the simulated file system, with no checkpoint (so every record is replayed);
//! opening the channel must succeed or fail with a typed error, and reading each queued event
//! must return, never panic, loop or allocate beyond the file's size.

use std::path::{Path, PathBuf};

use sluice_core::io::{Fs, OpenMode, SimFs};
use sluice_flume::{FlumeChannel, FlumeDirs, FlumeKeys};

/// Queued events read per input.
const EVENTS_READ_MAX: usize = 256;

/// Runs one input.
pub fn run(data: &[u8]) {
    let fs = SimFs::new(1);
    let (ckpt, data_dir) = (PathBuf::from("/f/checkpoint"), PathBuf::from("/f/data"));
    if fs.create_dir_all(&ckpt).is_err() || fs.create_dir_all(&data_dir).is_err() {
        return;
    }
    let Ok(f) = fs.open(&Path::new("/f/data").join("log-1"), OpenMode::CreateNew) else {
        return;
    };
    if f.write_all_at(data, 0).is_err() {
        return;
    }
    let dirs = FlumeDirs {
        checkpoint_dir: ckpt,
        backup_checkpoint_dir: None,
        data_dirs: vec![data_dir],
    };
    let Ok(ch) = FlumeChannel::open(&fs, &dirs, &FlumeKeys::new()) else {
        return;
    };
    for p in ch.queue.iter().take(EVENTS_READ_MAX) {
        let _ = ch.read_event(*p);
    }
}
