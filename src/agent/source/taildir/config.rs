//! `TAILDIR` settings: Flume's keys and defaults (TaildirSourceConfigurationConstants), read
//! with line-numbered errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::agent::alarm::loss::{LOSS_WINDOW_DEFAULT, LOSS_WINDOW_MAX, LOSS_WINDOW_MIN};
use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::DURATION_MS_MAX;
use crate::agent::source::multiline::{self, MultilineConfig};
use crate::agent::source::taildir::spool::SPOOL_BYTES_DEFAULT;

/// Most file groups per source.
pub(crate) const FILEGROUPS_MAX: usize = 1_000;
/// Default `maxBatchBytes`: a batch ends once its bodies reach this many bytes.
pub(crate) const MAX_BATCH_BYTES_DEFAULT: u64 = 4 * 1024 * 1024;
/// Largest `maxBatchBytes` accepted.
pub(crate) const MAX_BATCH_BYTES_LIMIT: u64 = 1 << 30;
/// Default `catchUpBytes`: 8 MiB, a few seconds of a busy log; a rotated file's usual tail is
/// far smaller.
pub(crate) const CATCH_UP_BYTES_DEFAULT: u64 = 8 << 20;

/// One `filegroups.<fg>`: a directory and a regular expression for file names in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGroup {
    /// The group's name.
    pub name: String,
    /// The directory (the path up to the last `/`).
    pub dir: PathBuf,
    /// The file-name pattern (the last path component), matched against the whole name.
    pub pattern: String,
    /// `headers.<fg>.<key>` = value.
    pub headers: BTreeMap<String, String>,
}

impl FileGroup {
    /// The pattern compiled to match a whole name, as Java's `matches()`.
    pub(crate) fn regex(&self) -> Result<regex::Regex, regex::Error> {
        regex::Regex::new(&format!("^(?:{})$", self.pattern))
    }
}

/// `TAILDIR` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaildirConfig {
    /// `filegroups` with `filegroups.<fg>` and `headers.<fg>.*`, in the listed order.
    pub filegroups: Vec<FileGroup>,
    /// `positionFile` (default `~/.flume/taildir_position.json`).
    pub position_file: PathBuf,
    /// `byteOffsetHeader` (default false): the line's byte offset in header `byteoffset`.
    pub byte_offset_header: bool,
    /// `skipToEnd` (default false): files not in the position file start at their end.
    pub skip_to_end: bool,
    /// `idleTimeout` (default 120000 ms): a file not modified for this long is closed.
    pub idle_timeout: Duration,
    /// `writePosInterval` (default 3000 ms): the position file is fsynced at least this often.
    pub write_pos_interval: Duration,
    /// `batchSize` (default 100).
    pub batch_size: usize,
    /// `maxBatchCount` (default Long.MAX_VALUE): batches from one file before the next file.
    pub max_batch_count: u64,
    /// `maxBatchBytes` (Sluice; default [`MAX_BATCH_BYTES_DEFAULT`]): a batch also ends once
    /// its bodies reach this many bytes (a line is never split for it).
    pub max_batch_bytes: usize,
    /// `backoffSleepIncrement` (default 1000 ms).
    pub backoff_sleep_increment: Duration,
    /// `maxBackoffSleep` (default 5000 ms).
    pub max_backoff_sleep: Duration,
    /// `cachePatternMatching` (default true): list a directory again only when it changed.
    pub cache_pattern_matching: bool,
    /// `watchChanges` (Sluice; default true): change events from inotify; `false` polls
    /// (file systems whose changes inotify does not report: NFS, CIFS, FUSE).
    pub watch_changes: bool,
    /// `followSymlinks` (Sluice; default false, unlike Flume, which follows them): a symbolic
    /// link matching a file group's pattern is read through. With false it is skipped and
    /// named once at WARN, and every followed file is opened without following a link.
    pub follow_symlinks: bool,
    /// `fileHeader` (default false): the file's absolute path in `fileHeaderKey`.
    pub file_header: bool,
    /// `fileHeaderKey` (default `file`).
    pub file_header_key: String,
    /// `closeDeletedAfter` (Sluice; default none): a followed file deleted this long ago is
    /// closed even if not read to its end (its unread bytes are skipped and counted).
    pub close_deleted_after: Option<Duration>,
    /// `maxDeletedOpenBytes` (Sluice; default 0 = no limit): most bytes deleted files may
    /// keep on disk by being held open; past it the longest-deleted ones are closed.
    pub max_deleted_open_bytes: u64,
    /// `spoolBytes` (Sluice; default [`SPOOL_BYTES_DEFAULT`], 0 = off): most bytes of
    /// rotated-away files the spool keeps on disk by hard links once their own names are
    /// gone (see [`super::spool`]); past it the oldest are given up and counted.
    pub spool_bytes: u64,
    /// `catchUpBytes` (Sluice; default [`CATCH_UP_BYTES_DEFAULT`]): past this many unread
    /// bytes in the files behind the newest of each group, the newest (the live file) gets a
    /// batch after every batch of that backlog (see `tailer/turns.rs`).
    pub catch_up_bytes: u64,
    /// `lossAlarm` (Sluice; default true): the built-in alarm `<source>.linesLost` is raised
    /// while lines were given up unread within `lossWindow`.
    pub loss_alarm: bool,
    /// `lossWindow` (Sluice; default 10 min): how long a loss keeps that alarm raised and
    /// `/health` degraded.
    pub loss_window: Duration,
    /// `multiline.*` (Sluice, Beats' keys): lines joined into events; positions move only
    /// past whole events.
    pub multiline: Option<MultilineConfig>,
    /// A source built on TAILDIR (`kubernetes`): its directories, joining and events
    /// ([`super::layout`]); `None` for `TAILDIR` itself.
    pub(crate) layout: Option<super::layout::LayoutRef>,
}

impl TaildirConfig {
    /// The spool's directory: `.taildir-spool/<positionFile name>` beside the position file
    /// (see [`super::spool`]; `config check` compares its file system with the file groups').
    pub fn spool_dir(&self) -> PathBuf {
        super::spool::own_dir(&self.position_file, super::spool::SPOOL_DIR)
    }
}

/// `~/.flume/taildir_position.json` with `~` from `$HOME`.
pub(crate) fn default_position_file() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".flume").join("taildir_position.json")
}

pub(crate) fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map_or_else(|| PathBuf::from(p), |h| PathBuf::from(h).join(rest)),
        None => PathBuf::from(p),
    }
}

/// Why a TAILDIR time key's value was refused.
#[derive(Debug, thiserror::Error)]
enum TimeKeyError {
    /// Plain milliseconds beyond [`DURATION_MS_MAX`].
    #[error("must be at most {DURATION_MS_MAX} ms, got {0:?}")]
    TooManyMs(String),
    /// Not a duration with a unit either.
    #[error(transparent)]
    Duration(#[from] crate::agent::config::duration::DurationError),
}

/// A time in milliseconds as Flume's other TAILDIR times, or with a unit (`10m`).
fn ms_or_duration(v: &str) -> Result<Duration, TimeKeyError> {
    let t = v.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>()
            .ok()
            .filter(|ms| *ms <= DURATION_MS_MAX)
            .map(Duration::from_millis)
            .ok_or_else(|| TimeKeyError::TooManyMs(v.to_owned()))
    } else {
        Ok(crate::agent::config::duration::parse(t)?)
    }
}

/// `lossWindow`: how long a loss keeps the `linesLost` alarm raised and `/health` degraded,
/// 1 s to 24 h (default [`LOSS_WINDOW_DEFAULT`]).
fn loss_window(cx: &mut Ctx<'_>) -> Duration {
    let Some(v) = cx.get("lossWindow") else {
        return LOSS_WINDOW_DEFAULT;
    };
    match ms_or_duration(&v) {
        Ok(d) if (LOSS_WINDOW_MIN..=LOSS_WINDOW_MAX).contains(&d) => d,
        Ok(_) => {
            cx.error(
                "lossWindow",
                format!("must be between 1s and 24h, got {v:?}"),
            );
            LOSS_WINDOW_DEFAULT
        }
        Err(e) => {
            cx.error("lossWindow", e.to_string());
            LOSS_WINDOW_DEFAULT
        }
    }
}

/// `closeDeletedAfter`: milliseconds as Flume's other TAILDIR times, or with a unit (`10m`).
fn close_deleted_after(cx: &mut Ctx<'_>) -> Option<Duration> {
    let v = cx.get("closeDeletedAfter")?;
    match ms_or_duration(&v) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            cx.error(
                "closeDeletedAfter",
                "must be more than 0 (leave it out for no limit)",
            );
            None
        }
        Err(e) => {
            cx.error("closeDeletedAfter", e.to_string());
            None
        }
    }
}

/// `filegroups`: the group names, at most [`FILEGROUPS_MAX`].
fn group_names(cx: &mut Ctx<'_>) -> Vec<String> {
    let names: Vec<String> = cx
        .required("filegroups")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if names.is_empty() && cx.get("filegroups").is_some() {
        cx.error("filegroups", "lists no file group");
    }
    if names.len() > FILEGROUPS_MAX {
        cx.error(
            "filegroups",
            format!("{} groups exceed the limit {FILEGROUPS_MAX}", names.len()),
        );
    }
    names
}

/// `filegroups.<name> = <directory>/<file-name regex>` for each name; a bad one is an error
/// and left out.
fn file_groups(cx: &mut Ctx<'_>, names: &[String]) -> Vec<FileGroup> {
    let mut groups = Vec::new();
    for name in names {
        let key = format!("filegroups.{name}");
        let Some(path) = cx.required(&key) else {
            continue;
        };
        let (dir, pattern) = match path.rsplit_once('/') {
            Some((d, p)) if !p.is_empty() => (if d.is_empty() { "/" } else { d }, p),
            _ => {
                cx.error(
                    &key,
                    format!("expected <directory>/<file-name regex>, got {path:?}"),
                );
                continue;
            }
        };
        let g = FileGroup {
            name: name.clone(),
            dir: PathBuf::from(dir),
            pattern: pattern.to_owned(),
            headers: BTreeMap::new(),
        };
        if let Err(e) = g.regex() {
            cx.error(&key, format!("invalid file-name regex {pattern:?}: {e}"));
            continue;
        }
        groups.push(g);
    }
    groups
}

/// `headers.<filegroup>.<header> = value` into its group; a group not in `filegroups` is
/// warned about (one listed but left out as bad is not).
fn group_headers(cx: &mut Ctx<'_>, groups: &mut [FileGroup], names: &[String]) {
    let header_keys: Vec<String> = cx
        .comp()
        .props
        .keys()
        .filter(|k| k.starts_with("headers."))
        .cloned()
        .collect();
    for k in header_keys {
        let rest = &k["headers.".len()..];
        let Some((fg, hk)) = rest.split_once('.').filter(|(_, hk)| !hk.is_empty()) else {
            cx.get(&k);
            cx.error(&k, "expected headers.<filegroup>.<header>");
            continue;
        };
        let v = cx.get(&k).unwrap_or_default();
        match groups.iter_mut().find(|g| g.name == fg) {
            Some(g) => {
                g.headers.insert(hk.to_owned(), v);
            }
            None if names.iter().any(|n| n == fg) => {}
            None => cx.warn(&k, format!("file group {fg} is not in filegroups; ignored")),
        }
    }
}

/// Reads a `TAILDIR` source's properties.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<TaildirConfig> {
    let names = group_names(cx);
    let mut groups = file_groups(cx, &names);
    group_headers(cx, &mut groups, &names);
    let position_file = cx
        .get("positionFile")
        .map_or_else(default_position_file, |p| expand_home(&p));
    let mut cfg = parse_following(cx, position_file);
    cfg.filegroups = groups;
    cfg.byte_offset_header = cx.bool("byteOffsetHeader", false);
    cfg.file_header = cx.bool("fileHeader", false);
    cfg.file_header_key = cx.get("fileHeaderKey").unwrap_or_else(|| "file".into());
    cfg.multiline = multiline::config::parse(cx);
    if cx.failed() || cfg.filegroups.is_empty() {
        return None;
    }
    Some(cfg)
}

/// The keys of how files are followed, kept and given up (every TAILDIR key but the file
/// groups, the headers and multiline), for TAILDIR and the sources built on it.
pub(crate) fn parse_following(cx: &mut Ctx<'_>, position_file: PathBuf) -> TaildirConfig {
    TaildirConfig {
        position_file,
        byte_offset_header: false,
        skip_to_end: cx.bool("skipToEnd", false),
        idle_timeout: Duration::from_millis(cx.u64("idleTimeout", 120_000, 1, DURATION_MS_MAX)),
        write_pos_interval: Duration::from_millis(cx.u64(
            "writePosInterval",
            3000,
            1,
            DURATION_MS_MAX,
        )),
        batch_size: cx.batch_size("batchSize", 100),
        max_batch_count: cx.u64("maxBatchCount", i64::MAX as u64, 1, i64::MAX as u64),
        max_batch_bytes: cx.bytes(
            "maxBatchBytes",
            MAX_BATCH_BYTES_DEFAULT,
            1,
            MAX_BATCH_BYTES_LIMIT,
        ) as usize,
        backoff_sleep_increment: Duration::from_millis(cx.u64(
            "backoffSleepIncrement",
            1000,
            1,
            DURATION_MS_MAX,
        )),
        max_backoff_sleep: Duration::from_millis(cx.u64(
            "maxBackoffSleep",
            5000,
            1,
            DURATION_MS_MAX,
        )),
        cache_pattern_matching: cx.bool("cachePatternMatching", true),
        watch_changes: cx.bool("watchChanges", true),
        follow_symlinks: cx.bool("followSymlinks", false),
        file_header: false,
        file_header_key: "file".into(),
        close_deleted_after: close_deleted_after(cx),
        max_deleted_open_bytes: cx.bytes("maxDeletedOpenBytes", 0, 0, u64::MAX),
        spool_bytes: cx.bytes("spoolBytes", SPOOL_BYTES_DEFAULT, 0, u64::MAX),
        catch_up_bytes: cx.bytes("catchUpBytes", CATCH_UP_BYTES_DEFAULT, 0, u64::MAX),
        loss_alarm: cx.bool("lossAlarm", true),
        loss_window: loss_window(cx),
        multiline: None,
        filegroups: Vec::new(),
        layout: None,
    }
}
