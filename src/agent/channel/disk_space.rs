//! Free disk space of a file channel's directories as gauges, so an alarm can fire before a
//! full disk stops the channel: `DataDirFreeBytes` (the least free of the data directories:
//! the first to fill), `DataDirBelowMinimum` (1 while it is under the channel's
//! `minimumRequiredSpace`, when the channel refuses puts; `/health` reads it) and
//! `CheckpointDirFreeBytes`. Read with `fs2::available_space` (the
//! space an unprivileged writer can use), at most once per [`REFRESH`]; a directory that
//! cannot be read leaves the gauge out (an alarm on it then waits, and the channel's own
//! errors say why).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a reading is reused (each `/metrics` request and alarm sample would otherwise
/// call `statvfs` once per directory).
pub(crate) const REFRESH: Duration = Duration::from_secs(1);

/// Gauges as the metrics registry takes them.
type GaugeList = Vec<(&'static str, String)>;

/// The directories of one file channel and their last reading.
#[derive(Debug)]
pub(crate) struct DiskSpace {
    data_dirs: Vec<PathBuf>,
    checkpoint_dir: PathBuf,
    /// `minimumRequiredSpace`: the free bytes a data directory keeps.
    floor_bytes: u64,
    last: Mutex<Option<(Instant, GaugeList)>>,
}

impl DiskSpace {
    /// Gauges for these directories, whose data directories keep `floor_bytes` free.
    pub(crate) fn new(data_dirs: Vec<PathBuf>, checkpoint_dir: PathBuf, floor_bytes: u64) -> Self {
        DiskSpace {
            data_dirs,
            checkpoint_dir,
            floor_bytes,
            last: Mutex::new(None),
        }
    }

    /// The gauges now (cached for [`REFRESH`]).
    pub(crate) fn gauges(&self) -> GaugeList {
        let mut last = self.last.lock();
        if let Some((at, g)) = last.as_ref() {
            if at.elapsed() < REFRESH {
                return g.clone();
            }
        }
        let mut g = Vec::with_capacity(2);
        let data: Option<u64> = self
            .data_dirs
            .iter()
            .map(|d| fs2::available_space(d).ok())
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().min());
        if let Some(free) = data {
            g.push(("DataDirFreeBytes", free.to_string()));
            let below = u8::from(free < self.floor_bytes);
            g.push(("DataDirBelowMinimum", below.to_string()));
        }
        if let Ok(free) = fs2::available_space(&self.checkpoint_dir) {
            g.push(("CheckpointDirFreeBytes", free.to_string()));
        }
        *last = Some((Instant::now(), g.clone()));
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_gauges_show_for_readable_directories_only() {
        let d = tempfile::tempdir().unwrap();
        let s = DiskSpace::new(vec![d.path().to_owned()], d.path().join("missing"), 0);
        let g = s.gauges();
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(g[0].0, "DataDirFreeBytes");
        assert!(g[0].1.parse::<u64>().unwrap() > 0);
        assert_eq!(g[1], ("DataDirBelowMinimum", "0".to_owned()));
    }

    #[test]
    fn a_data_dir_with_less_free_than_the_floor_is_below_the_minimum() {
        let d = tempfile::tempdir().unwrap();
        let s = DiskSpace::new(vec![d.path().to_owned()], d.path().to_owned(), u64::MAX);
        let g = s.gauges();
        assert!(
            g.contains(&("DataDirBelowMinimum", "1".to_owned())),
            "{g:?}"
        );
    }
}
