//! `<positionFile>.loss`: what TAILDIR's loss count needs across a restart or a `kill -9`, in
//! a small JSON file of Sluice's beside Flume's position file (which stays exactly Flume's):
//! the source's totals of lines and bytes lost unread (restored into `LinesLostUnreadCount`
//! and `BytesLostUnreadCount` at start), what it read (the mean line length of its estimates),
//! the files given up whose position entries may still be on disk (not counted a second
//! time), and the size of every followed file at the last durable position write (so a file
//! deleted while the agent was down, and not kept by the spool, is counted from its position
//! to that size).
//!
//! Written (tmp, fsync, rename, directory fsync) when a file is given up, before its WARN, and
//! with every durable position write. A missing file is an empty state (a first start, or a
//! position file from Flume); a damaged one is logged and counts start from 0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent::atomic_file;

/// Most given-up files remembered (their entries leave the position file at the next durable
/// write, so only a storm of losses between two writes can reach it; the oldest go first).
pub(crate) const GIVEN_UP_MAX: usize = 4096;

/// A file given up: its inode and the path its position entry names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GivenUp {
    pub inode: u64,
    pub file: String,
}

/// The saved loss state of one source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LossState {
    /// Lines lost unread since the position file began.
    #[serde(default)]
    pub lines: u64,
    /// Bytes lost unread.
    #[serde(default)]
    pub bytes: u64,
    /// Lines read (for the mean line length).
    #[serde(default)]
    pub read_lines: u64,
    /// Bytes read.
    #[serde(default)]
    pub read_bytes: u64,
    /// Files given up whose position entries may still be on disk.
    #[serde(default)]
    pub given_up: Vec<GivenUp>,
    /// Size of each followed file (by inode) at the last durable position write.
    #[serde(default)]
    pub sizes: BTreeMap<u64, u64>,
}

/// The loss file of a position file.
pub(crate) fn path_of(position_file: &Path) -> PathBuf {
    let mut name = position_file.file_name().unwrap_or_default().to_os_string();
    name.push(".loss");
    position_file.with_file_name(name)
}

/// The state as JSON.
pub(crate) fn render(state: &LossState) -> Vec<u8> {
    serde_json::to_vec(state).unwrap_or_else(|_| b"{}".to_vec())
}

/// Loads the loss file of `position_file` (see the module docs for a missing or damaged one).
pub(crate) fn load(position_file: &Path) -> LossState {
    let path = path_of(position_file);
    let bytes = match atomic_file::read(&path) {
        Ok(Some(b)) => b,
        Ok(None) => return LossState::default(),
        Err(e) => {
            tracing::error!(loss_file = %path.display(), error = %e, "TAILDIR loss file unreadable; LinesLostUnreadCount starts from 0");
            return LossState::default();
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(loss_file = %path.display(), error = %e, "TAILDIR loss file is damaged; LinesLostUnreadCount starts from 0 (the file is replaced at the next position write)");
            LossState::default()
        }
    }
}

/// Replaces the loss file of `position_file` durably.
pub(crate) fn save(position_file: &Path, state: &LossState) -> std::io::Result<()> {
    atomic_file::replace(&path_of(position_file), &render(state), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_loads_back_and_a_missing_or_damaged_file_is_empty() {
        let d = tempfile::tempdir().unwrap();
        let pos = d.path().join("taildir_position.json");
        assert_eq!(load(&pos), LossState::default());
        let s = LossState {
            lines: 3,
            bytes: 300,
            read_lines: 10,
            read_bytes: 1000,
            given_up: vec![GivenUp {
                inode: 7,
                file: "/l/app.log.1".into(),
            }],
            sizes: BTreeMap::from([(7, 500), (8, 20)]),
        };
        save(&pos, &s).unwrap();
        assert!(d.path().join("taildir_position.json.loss").exists());
        assert_eq!(load(&pos), s);
        std::fs::write(path_of(&pos), b"{\"lines\":").unwrap();
        assert_eq!(load(&pos), LossState::default());
    }
}
