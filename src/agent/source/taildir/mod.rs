//! The `TAILDIR` source (Flume's TaildirSource): follows the files of each file group
//! (`filegroups.<fg>` = a directory and a regex for file names), by inode across renames,
//! truncations and deletions, and sends each complete line as an event. Positions are
//! kept in Flume's JSON position file and move only after the events before them were
//! committed. A fingerprint of each file's committed bytes, kept beside the position file,
//! tells at restart a file that only grew from one truncated and rewritten or replaced on its
//! inode while the source was stopped (read again from its start). Each line carries an
//! event id from its file's origin and byte range ([`origins`]), so a line read again after a
//! crash is recognised by the file channel (docs/exactly-once.md). Batches end at
//! `batchSize` lines or `maxBatchBytes` bytes. See docs/components.md for keys and crash
//! behaviour.
//!
//! Pieces: [`config`] (keys), [`position`] (the position file codec and load),
//! [`fingerprint`] (the fingerprints beside it),
//! [`tail_file`] (one followed file), [`tailer`] (scans and batches, synchronous),
//! [`watch`] (change events from `notify`), [`task`] (the async driver), [`deleted`]
//! (`closeDeletedAfter`, `maxDeletedOpenBytes`: deleted files are not held open forever),
//! [`spool`] (hard links keep unfinished rotated files through a full channel and a kill -9),
//! [`loss`] (a file given up unread is counted to the line), [`loss_file`] (the count kept
//! through a restart), [`gauges`] (every gauge served), [`layout`] (what a source built on
//! this machinery changes: the `kubernetes` source).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the TAILDIR source follows files on the real disk and is tested there (DESIGN.md, the agent's std::fs rule)"
)]

pub(crate) mod config;
pub(crate) mod deleted;
pub(crate) mod deleted_stats;
pub(crate) mod fingerprint;
pub(crate) mod gauges;
pub(crate) mod layout;
pub(crate) mod loss;
pub(crate) mod loss_file;
pub(crate) mod origins;
pub mod position;
pub(crate) mod spool;
pub(crate) mod tail_file;
pub mod tailer;
pub(crate) mod task;
pub(crate) mod watch;

pub use config::TaildirConfig;
pub(crate) use task::run;

impl crate::agent::source::BuildSource for TaildirConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn reports_loss(&self) -> bool {
        true
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
