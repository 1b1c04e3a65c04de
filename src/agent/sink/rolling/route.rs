//! Routing one batch of the `hdfs` sink before anything of it is written: each event's bucket
//! (directory and file prefix), or why the event can never be written (a poison event).
//! Pure: no file is touched, so a batch with a poison event writes its good events once.
//!
//! An event is refused when its time escapes have no usable `timestamp` header, or when a
//! header value makes a path component longer than [`NAME_BYTES_MAX`] bytes (a directory, or
//! the file name with its counter, suffix and in-use affixes) or the whole path longer than
//! [`PATH_BYTES_MAX`]. Problems the template makes alone are not refusals: they concern every
//! event and stay batch failures (a configuration to fix, not data to drop). [`Refused`] is
//! how the writer reports such an event, [`refused_as_name`] which file-system errors on a
//! header-made name it counts as one.

use std::collections::HashMap;
use std::io;

use super::config::RollingConfig;
use super::confine::{Confined, EventPart, NAME_BYTES_MAX, PATH_BYTES_MAX};
use super::path::{event_time, HostNames, PathTemplate};
use sluice_core::Event;

/// An event of a batch that can never be written (a poison event), by its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Its index in the batch.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// Whether a file system refused a path as a name (too long for it, or bytes it does not
/// take), rather than for the state of the disk.
pub fn refused_as_name(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENAMETOOLONG) | Some(libc::EILSEQ)
    )
}

/// One bucket of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The directory.
    pub dir: String,
    /// The file prefix.
    pub prefix: String,
    /// `dir/prefix`: the sink's key of the open file.
    pub key: String,
    /// Whether header values are part of its path.
    pub from_event: bool,
}

/// Where one event goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Index in [`Routes::buckets`].
    pub bucket: usize,
    /// The event's timestamp in ms, if it has one.
    pub ts: Option<i64>,
}

/// A routed batch.
#[derive(Debug, Default)]
pub struct Routes {
    /// The batch's distinct buckets.
    pub buckets: Vec<Bucket>,
    /// Per event, in order: its route, or why it can never be written.
    pub events: Vec<Result<Route, Unroutable>>,
}

/// What routing needs of the sink.
#[derive(Debug)]
pub struct Router<'a> {
    /// `hdfs.path`.
    pub path: &'a PathTemplate,
    /// `hdfs.filePrefix`.
    pub prefix: &'a PathTemplate,
    /// The settings.
    pub cfg: &'a RollingConfig,
    /// The host's names.
    pub host: &'a HostNames,
    /// Bytes a file name adds to its prefix (in-use affixes, `.` counter, suffix).
    pub name_extra_bytes: usize,
}

impl Router<'_> {
    /// Routes `events` at wall-clock time `now_ms`.
    pub fn route(&self, events: &[Event], now_ms: i64) -> Routes {
        let mut routes = Routes::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        // Without header escapes the bucket depends only on the timestamp: events with the
        // same one as the previous event (every event with useLocalTimeStamp) reuse its route.
        let by_time_only = !self.path.uses_headers() && !self.prefix.uses_headers();
        let mut last: Option<Route> = None;
        for e in events {
            let r = match last {
                Some(l) if by_time_only && event_ts(self.cfg, e, now_ms) == Ok(l.ts) => Ok(l),
                _ => self.one(e, now_ms, &mut routes.buckets, &mut index),
            };
            last = r.as_ref().ok().copied();
            routes.events.push(r);
        }
        routes
    }

    fn one(
        &self,
        e: &Event,
        now_ms: i64,
        buckets: &mut Vec<Bucket>,
        index: &mut HashMap<String, usize>,
    ) -> Result<Route, Unroutable> {
        let ts = event_ts(self.cfg, e, now_ms)?;
        let (zone, round) = (self.cfg.zone, self.cfg.round);
        let with_ts = |err: super::path::EscapeError| reason(self.cfg, &err, e);
        let dir = self
            .path
            .render_confined(&e.headers, ts, zone, round, self.host, false)
            .map_err(with_ts)?;
        let prefix = self
            .prefix
            .render_confined(&e.headers, ts, zone, round, self.host, true)
            .map_err(with_ts)?;
        self.check(&dir, &prefix)?;
        let key = format!("{}/{}", dir.text, prefix.text);
        let bucket = match index.get(&key) {
            Some(&b) => b,
            None => {
                buckets.push(Bucket {
                    from_event: dir.from_event || prefix.from_event,
                    dir: dir.text,
                    prefix: prefix.text,
                    key: key.clone(),
                });
                index.insert(key, buckets.len() - 1);
                buckets.len() - 1
            }
        };
        Ok(Route { bucket, ts })
    }

    /// Refuses names the headers made too long for any file system.
    fn check(&self, dir: &Confined, prefix: &Confined) -> Result<(), Unroutable> {
        if let Some(p) = &dir.longest_event_part {
            if p.len > NAME_BYTES_MAX {
                return Err(Unroutable::DirNameTooLong(p.clone()));
            }
        }
        let name_bytes = prefix.text.len() + self.name_extra_bytes;
        if let Some(p) = prefix.longest_event_part.as_ref() {
            if name_bytes > NAME_BYTES_MAX {
                return Err(Unroutable::FileNameTooLong {
                    part: p.clone(),
                    key: self.cfg.keys.of("hdfs.filePrefix"),
                    name_bytes,
                });
            }
        }
        let path_bytes = dir.text.len() + 1 + name_bytes;
        if (dir.from_event || prefix.from_event) && path_bytes > PATH_BYTES_MAX {
            return Err(Unroutable::PathTooLong { path_bytes });
        }
        Ok(())
    }
}

fn event_ts(cfg: &RollingConfig, e: &Event, now_ms: i64) -> Result<Option<i64>, Unroutable> {
    event_time(&e.headers, cfg.use_local_timestamp, now_ms).map_err(|err| reason(cfg, &err, e))
}

/// Why `e` cannot be routed, naming the key that fixes it as the user writes it.
fn reason(cfg: &RollingConfig, err: &super::path::EscapeError, e: &Event) -> Unroutable {
    Unroutable::NoTimestamp {
        err: err.clone(),
        key: cfg.keys.of("hdfs.useLocalTimeStamp"),
        header: e.headers.get("timestamp").map(str::to_owned),
    }
}

/// Why an event can never be written (a poison event): its reason names the header or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unroutable {
    /// A time escape without a usable `timestamp` header.
    #[error("{err}; add a timestamp interceptor or set {key}=true (timestamp header: {header:?})")]
    NoTimestamp {
        /// What is wrong with the header.
        err: super::path::EscapeError,
        /// `hdfs.useLocalTimeStamp`, as the user writes it.
        key: String,
        /// The header's value.
        header: Option<String>,
    },
    /// Header values make a directory name too long.
    #[error("{} make a directory name of {} bytes, more than {NAME_BYTES_MAX}: {:?}…", .0.sources, .0.len, .0.preview)]
    DirNameTooLong(EventPart),
    /// Header values in the file prefix make a file name too long.
    #[error("{} in {key} make a file name of {name_bytes} bytes, more than {NAME_BYTES_MAX}: {:?}…", part.sources, part.preview)]
    FileNameTooLong {
        /// The longest part the event made.
        part: EventPart,
        /// `hdfs.filePrefix`, as the user writes it.
        key: String,
        /// The file name's length.
        name_bytes: usize,
    },
    /// Header values make the whole path too long.
    #[error("header values make a path of {path_bytes} bytes, more than {PATH_BYTES_MAX}")]
    PathTooLong {
        /// The path's length.
        path_bytes: usize,
    },
}
