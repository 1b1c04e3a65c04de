//! Helpers shared by the integration tests: channels on the real and the simulated file system.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sluice_core::io::{Fs, SimFs, StdFs};
use sluice_core::{Event, FileChannel, FileChannelConfig};

/// A place to run a channel: a temp dir on the real disk or a simulated file system.
pub struct Bed {
    pub fs: Arc<dyn Fs>,
    pub sim: Option<SimFs>,
    pub root: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Bed {
    pub fn real() -> Bed {
        let tmp = tempfile::tempdir().unwrap();
        Bed {
            fs: Arc::new(StdFs),
            sim: None,
            root: tmp.path().to_path_buf(),
            _tmp: Some(tmp),
        }
    }

    pub fn sim(seed: u64) -> Bed {
        let sim = SimFs::new(seed);
        Bed {
            fs: Arc::new(sim.clone()),
            sim: Some(sim),
            root: PathBuf::from("/sim"),
            _tmp: None,
        }
    }

    /// Both kinds, for tests that must pass on each.
    pub fn both() -> Vec<Bed> {
        vec![Bed::real(), Bed::sim(7)]
    }

    pub fn config(&self, dirs: usize) -> FileChannelConfig {
        config_under(&self.root, dirs)
    }

    pub fn open(&self, config: &FileChannelConfig) -> FileChannel {
        FileChannel::open_with_fs(config.clone(), self.fs.clone()).unwrap()
    }

    /// Replaces the simulated file system by its crash image (power loss now).
    pub fn power_loss(&mut self, seed: u64) {
        let sim = self
            .sim
            .as_ref()
            .expect("power loss needs the simulated fs");
        let img = sim.crash_image(seed);
        self.fs = Arc::new(img.clone());
        self.sim = Some(img);
    }
}

pub fn config_under(root: &Path, dirs: usize) -> FileChannelConfig {
    let mut c = FileChannelConfig::with_dirs(
        root.join("checkpoint"),
        (0..dirs).map(|i| root.join(format!("data{i}"))).collect(),
    );
    c.capacity = 10_000;
    c.transaction_capacity = 1_000;
    c.keep_alive = Duration::from_millis(0);
    c.minimum_required_space_bytes = 1 << 20;
    c.checkpoint_interval_ms = 3_600_000;
    c
}

pub fn ev(s: &str) -> Event {
    Event::new(s.as_bytes().to_vec()).header("k", "v")
}

pub fn put_all(ch: &FileChannel, bodies: &[&str]) {
    let mut tx = ch.transaction();
    for b in bodies {
        tx.put(ev(b)).unwrap();
    }
    tx.commit().unwrap();
}

/// Takes everything and commits; returns the bodies.
pub fn drain(ch: &FileChannel) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let mut tx = ch.transaction();
        let mut n = 0;
        let mut more = true;
        while n < 100 {
            match tx.take() {
                Ok(Some(e)) => {
                    out.push(String::from_utf8(Vec::from(e.into_parts().1)).unwrap());
                    n += 1;
                }
                Ok(None) => {
                    more = false;
                    break;
                }
                Err(sluice_core::ChannelError::TransactionFull { .. }) => break,
                Err(e) => panic!("take failed: {e}"),
            }
        }
        tx.commit().unwrap();
        if !more {
            return out;
        }
    }
}

/// Takes everything without committing (the transaction is rolled back).
pub fn peek_all(ch: &FileChannel) -> Vec<String> {
    let mut tx = ch.transaction();
    let mut out = Vec::new();
    while let Some(e) = tx.take().unwrap() {
        out.push(String::from_utf8(Vec::from(e.into_parts().1)).unwrap());
    }
    tx.rollback();
    out
}

/// Whether the long forms of the fuzz, crash and soak runs are on: `SLUICE_LONG` set to
/// anything but empty or `0` (docs/testing.md). Every test of this binary asks here.
pub fn long_runs() -> bool {
    std::env::var_os("SLUICE_LONG").is_some_and(|v| !v.is_empty() && v != "0")
}
