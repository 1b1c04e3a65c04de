//! The [`RollingWriter`]'s open files: a bucket's file opened on its first event, at most
//! `hdfs.maxOpenFiles` of them (the least recently used closed first, and also when an open
//! finds no descriptor left, EMFILE/ENFILE).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::super::bucket::BucketWriter;
use super::super::error::io_err;
use super::super::open_files::out_of_descriptors;
use super::super::route::{refused_as_name, Bucket};
use super::{Open, RollingWriter, WriteError};

impl RollingWriter {
    /// Opens the file of `bucket` unless it is open (making room among `hdfs.maxOpenFiles`
    /// first); `Some(why)` when the file system refuses the name of a file made from headers
    /// (its events are refused, the batch goes on).
    pub(super) fn open_bucket(
        &mut self,
        bucket: &Bucket,
        now: Instant,
    ) -> Result<Option<String>, WriteError> {
        if self.open.contains_key(bucket.key.as_str()) {
            return Ok(None);
        }
        self.make_room(now)?;
        let dir = PathBuf::from(&bucket.dir);
        let mut opened = self.open_in(&dir, &bucket.prefix, now);
        if opened.as_ref().is_err_and(out_of_descriptors) && !self.open.is_empty() {
            // Fewer descriptors than maxOpenFiles assumed (other files of the agent,
            // a lower limit): give one back, as an eviction does, and try once more.
            tracing::warn!(open = self.open.len(), dir = %dir.display(), "out of file descriptors opening a file; closing the least recently used one and trying again");
            self.close_least_recent(now)?;
            opened = self.open_in(&dir, &bucket.prefix, now);
        }
        let w = match opened {
            Ok(w) => w,
            Err(err) if bucket.from_event && refused_as_name(&err) => {
                return Ok(Some(format!(
                    "the file system refuses the name of a file in {:?} made from headers: {err}",
                    bucket.dir
                )));
            }
            Err(err) => return Err(io_err("opening a file in", &dir)(err)),
        };
        tracing::debug!(path = %w.in_use_path().display(), "opened");
        self.open
            .insert(bucket.key.clone(), Open { writer: w, used: 0 });
        Ok(None)
    }

    fn make_room(&mut self, now: Instant) -> Result<(), WriteError> {
        while self.open.len() >= self.cfg.max_open_files {
            tracing::debug!("maxOpenFiles reached; closing the least recently used file");
            if !self.close_least_recent(now)? {
                break;
            }
        }
        Ok(())
    }

    /// Opens a new file of the bucket `prefix` in `dir`.
    fn open_in(&mut self, dir: &Path, prefix: &str, now: Instant) -> io::Result<BucketWriter> {
        let mut w = BucketWriter::open(
            self.store.as_ref(),
            dir,
            prefix,
            &self.naming,
            &mut self.counter,
            self.layout,
            now,
        )?;
        if let Some((ser, bridge)) = &self.handed {
            // The stream is named by the file's counter (a u32 of it: never two open files).
            if let Err(e) = w.attach_serializer(ser.clone(), self.counter as u32, bridge.clone()) {
                self.abandon(w, now);
                return Err(e);
            }
        }
        if self.delivered.is_some() {
            self.created.push(w.in_use_path().to_owned());
            self.since_mark.push(w.in_use_path().to_owned());
        }
        Ok(w)
    }

    /// Closes the least recently used open file; whether there was one.
    fn close_least_recent(&mut self, now: Instant) -> Result<bool, WriteError> {
        let Some(oldest) = self
            .open
            .iter()
            .min_by_key(|(_, o)| o.used)
            .map(|(k, _)| k.clone())
        else {
            return Ok(false);
        };
        tracing::debug!(bucket = %oldest, "closing the least recently used file");
        self.close_key(&oldest, now)?;
        Ok(true)
    }
}
