//! The `spooldir` source (Flume's SpoolDirectorySource): reads the files dropped into
//! `spoolDir`, one at a time, as LINE or BLOB events, and completes each file (renamed with
//! `fileSuffix`, deleted, or marked in `trackerDir`) only after its last event was
//! committed. The position inside the current file is saved durably after every commit, so
//! a restart resumes there. See docs/components.md for keys and crash behaviour.
//!
//! Pieces: [`config`] (keys), [`charset`] (input/output charsets and decode policies),
//! [`scan`] (which files, in which order), [`tracker`] (the saved position and markers),
//! [`spooler`] (reading and completing, synchronous), [`task`] (the async driver).

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the spooldir source reads and renames files on the real disk and is tested there (DESIGN.md, the agent's std::fs rule)"
)]

pub(crate) mod charset;
pub(crate) mod config;
mod current;
pub(crate) mod scan;
pub mod spooler;
pub(crate) mod task;
pub(crate) mod tracker;

pub use config::SpoolDirConfig;
pub(crate) use task::run;

impl crate::agent::source::BuildSource for SpoolDirConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        Box::pin(run(self.clone(), ctx))
    }
}
