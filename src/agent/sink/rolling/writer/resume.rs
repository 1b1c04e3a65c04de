//! The [`RollingWriter`]'s side of exactly-once output ([`super::resume`]): the snapshot it
//! hands out after each delivered batch, the cut back to the committed cursor at start, and
//! the cut back to its last delivered snapshot after a failed batch.

use std::path::{Path, PathBuf};

use super::super::error::io_err;
use super::super::resume::{cut_back, CutBack, Newer, Resume, Snapshot};
use super::super::store::Held;
use super::{RollingWriter, WriteError};

impl RollingWriter {
    /// The output now: the last file number and every open file's length.
    pub(super) fn snapshot(&self) -> Snapshot {
        let mut files: Vec<_> = self
            .open
            .values()
            .map(|o| (o.writer.in_use_path().to_owned(), o.writer.written))
            .collect();
        files.sort();
        Snapshot {
            root: self.root(),
            counter: self.counter,
            files,
        }
    }

    /// The cursor of the last delivered batch, when the store can be cut back to it.
    pub fn cursor(&self) -> Option<Vec<u8>> {
        self.delivered.as_ref().map(Snapshot::encode)
    }

    /// The output as the last delivered batch left it, when the store can be cut back: the
    /// mark a call's work is given up to ([`RollingWriter::give_up_since`]). The files opened
    /// from now on are what that call opened.
    pub fn mark(&mut self) -> Option<Snapshot> {
        self.since_mark.clear();
        self.delivered.clone()
    }

    /// Gives up what was written since `mark`: the call that wrote it timed out, so its take
    /// was rolled back and its batch comes again. Before anything else is written (or rolled)
    /// the output is cut back to `mark` and the files opened since are removed (those this
    /// writer opened, whatever else is in the directory). With no mark (a store that cannot
    /// be cut back) nothing changes, and that batch may be written twice.
    pub fn give_up_since(&mut self, mark: Option<Snapshot>) {
        let Some(mark) = mark else {
            return;
        };
        self.delivered = Some(mark);
        self.rewind_due = true;
        self.given_up.append(&mut self.since_mark);
    }

    /// Cuts the output back to the last committed take's snapshot (at start); `files` are
    /// every file below `root`. Returns those it recovered or removed (the rest is left to
    /// start-up recovery).
    pub(super) fn cut_back_at_start(
        &mut self,
        resume: Option<&Resume>,
        root: &Path,
        files: &[PathBuf],
    ) -> Result<Vec<PathBuf>, WriteError> {
        let snap = match resume {
            None => return Ok(Vec::new()),
            Some(_) if !self.store.cuts_back() => {
                tracing::warn!(store = %self.store.describe(), "this store cannot cut files back: batches taken again after a crash may be written twice");
                return Ok(Vec::new());
            }
            Some(Resume::Overflow) => {
                tracing::warn!(root = %root.display(), "the last committed take had more open files than a cursor holds: output not cut back (batches taken again may be written twice)");
                return Ok(Vec::new());
            }
            Some(Resume::At(snap)) if snap.root != root => {
                tracing::warn!(cursor_root = %snap.root.display(), root = %root.display(), "the committed cursor names another directory ({} changed): output not cut back", self.cfg.keys.of("hdfs.path"));
                return Ok(Vec::new());
            }
            Some(Resume::At(snap)) => snap,
        };
        let done = cut_back(
            self.store.as_ref(),
            &self.naming,
            self.layout,
            snap,
            Newer::Among(files),
        )
        .map_err(io_err("cutting the output back under", root))?;
        self.counter = self.counter.max(snap.counter);
        report(&done, "at start");
        let listed = snap.files.iter().map(|(p, _)| p.clone());
        Ok(listed
            .chain(done.removed.into_iter().map(|(p, _)| p))
            .collect())
    }

    /// Before the writer writes or rolls anything: the cut back a failed sync, a failed batch
    /// or a given-up call left due.
    pub(super) fn settle(&mut self) -> Result<(), WriteError> {
        self.cut_back_unsynced();
        if self.rewind_due {
            self.rewind()?;
            self.rewound();
        }
        Ok(())
    }

    /// Cuts the output back to the last delivered snapshot after a failed batch: every open
    /// file is closed at its delivered length, and the files opened since are removed.
    pub(super) fn rewind(&mut self) -> Result<(), WriteError> {
        let Some(snap) = self.delivered.clone() else {
            self.rewind_due = false;
            return Ok(());
        };
        // The handles go first: the store recovers each file (an HDFS lease included).
        self.open.clear();
        let root = snap.root.clone();
        let store = self.store.clone();
        let _held = Held::new(store.as_ref());
        let given_up = !self.given_up.is_empty();
        let mut opened = std::mem::take(&mut self.given_up);
        for p in &self.created {
            if !opened.contains(p) {
                opened.push(p.clone());
            }
        }
        let done = cut_back(
            self.store.as_ref(),
            &self.naming,
            self.layout,
            &snap,
            Newer::Listed(&opened),
        )
        .map_err(io_err("cutting the output back under", &root))?;
        report(
            &done,
            match given_up {
                true => "after a call that timed out",
                false => "after a failed batch",
            },
        );
        // Closes still pending for these files are done: each was cut back and published,
        // or removed.
        let handled: Vec<&PathBuf> = snap.files.iter().map(|(p, _)| p).collect();
        let removed: Vec<&PathBuf> = done.removed.iter().map(|(p, _)| p).collect();
        self.closing.retain(|p| {
            !handled.contains(&&p.in_use)
                && !opened.contains(&p.in_use)
                && !removed.contains(&&p.in_use)
        });
        self.created.clear();
        self.rewind_due = false;
        // Every file is closed now: later failures cut back to this.
        self.delivered = Some(self.snapshot());
        self.buffered.set(self.buffered_bytes());
        Ok(())
    }
}

fn report(done: &CutBack, when: &str) {
    if done.cut > 0 || !done.removed.is_empty() {
        let removed: u64 = done.removed.iter().map(|(_, n)| n).sum();
        tracing::info!(
            cut_bytes = done.cut,
            removed_files = done.removed.len(),
            removed_bytes = removed,
            "output cut back to the last committed take {when} (those batches are taken again and written once)"
        );
    }
    if done.missing > 0 {
        tracing::error!(
            missing_bytes = done.missing,
            "files the last committed take wrote are shorter than it recorded: they were cut or removed outside the sink"
        );
    }
}

#[cfg(test)]
mod tests;
