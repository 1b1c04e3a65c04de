//! One open file of the `hdfs` sink (Flume's `BucketWriter`): created under its in-use name
//! (`inUsePrefix` + `filePrefix.N` + suffix + `inUseSuffix`), appended batch by batch, and
//! closed by a rename to its final name. With fsync on, [`BucketWriter::flush`] returns only
//! after the batch's bytes (and, for a new file, its directory entry) are durable, and
//! [`BucketWriter::close`] syncs the directory after the rename.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use super::bridge::Bridge;
use super::format::{Encoder, Layout};
use super::serializer::StreamSerializer;
use super::store::{Store, StoreFile};
use sluice_core::Event;

/// Tries at finding an unused file name before giving up.
pub const NAME_TRIES_MAX: u32 = 10_000;

/// How the sink names files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    /// `hdfs.fileSuffix`, or the codec's extension when that is empty.
    pub suffix: String,
    /// `hdfs.inUsePrefix`.
    pub in_use_prefix: String,
    /// `hdfs.inUseSuffix` (empty with `emptyInUseSuffix`).
    pub in_use_suffix: String,
    /// `hdfs.filePrefix` when it has no escapes: recovery then touches only files with it,
    /// so sinks sharing a directory with distinct prefixes leave each other's files alone.
    pub fixed_prefix: Option<String>,
}

impl Naming {
    /// The final name of file number `counter` with the (escaped) prefix.
    pub fn final_name(&self, prefix: &str, counter: u64) -> String {
        format!("{prefix}.{counter}{}", self.suffix)
    }

    /// The in-use name of a final name.
    pub fn in_use_name(&self, final_name: &str) -> String {
        format!("{}{final_name}{}", self.in_use_prefix, self.in_use_suffix)
    }

    /// The file number of a final name of ours (`<prefix>.<counter><suffix>`).
    pub fn counter_of(&self, final_name: &str) -> Option<u64> {
        let stem = final_name.strip_suffix(self.suffix.as_str())?;
        let (prefix, digits) = stem.rsplit_once('.')?;
        if self.fixed_prefix.as_deref().is_some_and(|p| p != prefix)
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse().ok()
    }

    /// The final name of an in-use name, if it is one.
    pub fn final_of_in_use<'a>(&self, in_use: &'a str) -> Option<&'a str> {
        if self.in_use_prefix.is_empty() && self.in_use_suffix.is_empty() {
            return None;
        }
        in_use
            .strip_prefix(self.in_use_prefix.as_str())?
            .strip_suffix(self.in_use_suffix.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// An open bucket file.
#[derive(Debug)]
pub struct BucketWriter {
    in_use: PathBuf,
    target: PathBuf,
    file: Box<dyn StoreFile>,
    header: Vec<u8>,
    encoder: Encoder,
    /// Events appended.
    pub events: u64,
    /// Body bytes appended (what `rollSize` counts, as in Flume).
    pub body_bytes: u64,
    /// When the file was opened.
    pub opened_at: Instant,
    /// When an event was last appended.
    pub last_write: Instant,
    /// Bytes written to the file (its header included).
    pub written: u64,
    /// The sink's own serializer's stream for this file, when the sink was handed one.
    handed: Option<HandedStream>,
}

/// A file's stream in the serializer the sink was handed ([`super::serializer`]): the
/// batch's events wait here until [`BucketWriter::flush`] hands them over and writes the
/// bytes it gets back.
#[derive(Debug)]
struct HandedStream {
    ser: Arc<dyn StreamSerializer>,
    stream: u32,
    events: Vec<Event>,
    body_bytes: usize,
    bridge: Bridge,
}

impl BucketWriter {
    /// Opens a new file in `dir` named from `prefix` and the next free `counter`.
    pub fn open(
        store: &dyn Store,
        dir: &Path,
        prefix: &str,
        naming: &Naming,
        counter: &mut u64,
        layout: Layout,
        now: Instant,
    ) -> io::Result<BucketWriter> {
        store.mkdirs(dir)?;
        for _ in 0..NAME_TRIES_MAX {
            // A file planted under the largest number must not wrap the numbering round to
            // names below the committed ones (a cut back removes by number).
            *counter = counter.checked_add(1).ok_or_else(|| {
                io::Error::other(format!(
                    "no file number is left above {} under {}: a file of the sink's names holds it; remove or rename it",
                    u64::MAX,
                    dir.display()
                ))
            })?;
            let name = naming.final_name(prefix, *counter);
            let target = dir.join(&name);
            let in_use = dir.join(naming.in_use_name(&name));
            if store.name_taken(&target)? {
                continue;
            }
            let file = match store.create(&in_use) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            // Flume's BucketWriter logs the same two lines (`Creating`, `Renaming`).
            tracing::info!("Creating {}", in_use.display());
            let encoder = Encoder::new(layout, *counter ^ fastrand::u64(..));
            return Ok(BucketWriter {
                header: encoder.header(),
                in_use,
                target,
                file,
                encoder,
                events: 0,
                body_bytes: 0,
                opened_at: now,
                last_write: now,
                written: 0,
                handed: None,
            });
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "no free file name for prefix {prefix:?} in {} after {NAME_TRIES_MAX} tries",
                dir.display()
            ),
        ))
    }

    /// Writes this new file through the serializer the sink was handed, as stream `stream`:
    /// its first bytes become the file's header. On the writer's blocking thread.
    pub(crate) fn attach_serializer(
        &mut self,
        ser: Arc<dyn StreamSerializer>,
        stream: u32,
        bridge: Bridge,
    ) -> io::Result<()> {
        self.header = ser.create(stream).wait(&bridge)?;
        self.handed = Some(HandedStream {
            ser,
            stream,
            events: Vec::new(),
            body_bytes: 0,
            bridge,
        });
        Ok(())
    }

    /// The in-use path.
    pub fn in_use_path(&self) -> &Path {
        &self.in_use
    }

    /// Makes everything written durable (what [`BucketWriter::flush`] with `fsync` does after
    /// its write).
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync()
    }

    /// A handle that syncs this file from another thread, when its store shares syncs.
    pub fn syncer(&self) -> Option<std::sync::Arc<dyn super::store::FileSync>> {
        self.file.syncer()
    }

    /// The final path.
    pub fn target_path(&self) -> &Path {
        &self.target
    }

    /// Whether `rollCount` or `rollSize` says the next event goes to a new file.
    pub fn should_rotate(&self, roll_count: Option<u64>, roll_size: Option<u64>) -> bool {
        roll_count.is_some_and(|n| self.events >= n)
            || roll_size.is_some_and(|n| self.body_bytes >= n)
    }

    /// Adds an event to the batch being built.
    pub fn append(&mut self, e: &Event, ts_ms: i64, now: Instant) -> io::Result<()> {
        match self.handed.as_mut() {
            Some(js) => {
                js.events.push(e.clone());
                js.body_bytes += e.body.len();
            }
            None => self.encoder.add(e, ts_ms)?,
        }
        self.events += 1;
        self.body_bytes += e.body.len() as u64;
        self.last_write = now;
        Ok(())
    }

    /// Bytes appended and not yet written.
    pub fn buffered_bytes(&self) -> usize {
        match &self.handed {
            Some(js) => js.body_bytes,
            None => self.encoder.buffered_bytes(),
        }
    }

    /// Writes the batch built so far; with `fsync`, makes it (and a new file's directory
    /// entry) durable before returning. The batch buffer is kept for the next batch only up
    /// to `keep_bytes`.
    pub fn flush(&mut self, fsync: bool, keep_bytes: usize) -> io::Result<()> {
        if let Some(js) = self.handed.as_mut() {
            let events = std::mem::take(&mut js.events);
            js.body_bytes = 0;
            let bytes = if events.is_empty() {
                Vec::new()
            } else {
                js.ser.write(js.stream, events).wait(&js.bridge)?
            };
            return self.write_raw(bytes, fsync);
        }
        self.put_batch(false, keep_bytes)?;
        if fsync {
            self.file.sync()?;
        }
        Ok(())
    }

    /// Stages the batch built so far in the file ([`StoreFile::stage`]: on a local file no
    /// I/O, the next sync writes it). Not for a file written through a handed serializer,
    /// whose bytes need a trip to its host.
    pub fn stage(&mut self, keep_bytes: usize) -> io::Result<()> {
        if self.handed.is_some() {
            return Err(io::Error::other(
                "a handed serializer's file cannot be staged",
            ));
        }
        self.put_batch(true, keep_bytes)
    }

    /// Writes the file's staged bytes now.
    pub fn write_staged(&mut self) -> io::Result<()> {
        self.file.write_staged()
    }

    /// One write (or stage) per batch, from the encoder's reused buffer (with the file's
    /// header in front on its first write).
    fn put_batch(&mut self, staged: bool, keep_bytes: usize) -> io::Result<()> {
        let batch = self.encoder.batch()?;
        let header = std::mem::take(&mut self.header);
        let joined;
        let bytes = if header.is_empty() {
            batch
        } else {
            let mut all = header;
            all.extend_from_slice(batch);
            joined = all;
            &joined[..]
        };
        if staged {
            self.file.stage(bytes)?;
        } else {
            self.file.append(bytes)?;
        }
        self.written += bytes.len() as u64;
        self.encoder.clear_batch(keep_bytes);
        Ok(())
    }

    /// Flushes, syncs and closes the file, then publishes it under its final name.
    pub fn close(&mut self, store: &dyn Store, fsync: bool) -> io::Result<()> {
        self.finish(fsync)?;
        self.publish(store)
    }

    /// Writes bytes already rendered (a handed serializer's) after the header, if it is not
    /// written yet; with `fsync`, makes them durable.
    fn write_raw(&mut self, bytes: Vec<u8>, fsync: bool) -> io::Result<()> {
        let bytes = if self.header.is_empty() {
            bytes
        } else {
            let mut all = std::mem::take(&mut self.header);
            all.extend_from_slice(&bytes);
            all
        };
        if !bytes.is_empty() {
            self.file.append(&bytes)?;
            self.written += bytes.len() as u64;
        }
        if fsync {
            self.file.sync()?;
        }
        Ok(())
    }

    /// Flushes, syncs and closes the file (everything appended is durable after it); a
    /// handed serializer's last bytes come last.
    pub fn finish(&mut self, fsync: bool) -> io::Result<()> {
        self.flush(fsync, 0)?;
        if let Some(js) = self.handed.take() {
            let footer = js.ser.close(js.stream).wait(&js.bridge)?;
            self.write_raw(footer, fsync)?;
        }
        // Even without per-batch fsync the rename must not publish unsynced bytes.
        self.file.close()
    }

    /// Publishes the closed file under its final name.
    pub fn publish(&self, store: &dyn Store) -> io::Result<()> {
        if self.in_use != self.target {
            tracing::info!(
                "Renaming {} to {}",
                self.in_use.display(),
                self.target.display()
            );
        }
        store.publish(&self.in_use, &self.target)
    }
}
