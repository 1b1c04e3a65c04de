//! `multiline.*` keys of the file sources, as Beats' `multiline` settings (a Filebeat user's
//! config translates key for key): `multiline.pattern` (a regular expression; required once
//! any `multiline.*` key is set), `multiline.negate` (default false), `multiline.match`
//! (`after`, the default, or `before`), `multiline.timeout` (default 5s), `multiline.maxLines`
//! (default 500) and `multiline.maxBytes` (default 10 MiB); and Sluice's
//! `multiline.maxHeldBytes` (default 64 MiB, at least `maxBytes`): the bytes of open events
//! all files of the source may hold together ([`super::held`]).

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::duration;

use super::held::{MAX_HELD_BYTES_DEFAULT, MAX_HELD_BYTES_LIMIT};

/// Default `multiline.maxLines` (Beats' `max_lines`).
pub(crate) const MAX_LINES_DEFAULT: u64 = 500;
/// Largest `multiline.maxLines` accepted.
pub(crate) const MAX_LINES_LIMIT: u64 = 1_000_000;
/// Default `multiline.maxBytes` (Beats' `max_bytes`).
pub(crate) const MAX_BYTES_DEFAULT: u64 = 10 * 1024 * 1024;
/// Largest `multiline.maxBytes` accepted (the file channel's record limit is 64 MiB).
pub(crate) const MAX_BYTES_LIMIT: u64 = 60 * 1024 * 1024;
/// Default `multiline.timeout` (Beats' `timeout`).
pub(crate) const TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// Shortest `multiline.timeout` accepted.
pub(crate) const TIMEOUT_MIN: Duration = Duration::from_millis(10);
/// Longest regular expression accepted, in bytes (a limit on compile time and memory).
pub(crate) const PATTERN_BYTES_MAX: usize = 4096;

/// `multiline.match`: on which side of the lines matched (after `negate`) the event's other
/// lines are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// `after`: a continuation line is appended to the line before it.
    After,
    /// `before`: a continuation line is put before the line after it; the first line that is
    /// not a continuation ends the event.
    Before,
}

/// The `multiline.*` settings of one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultilineConfig {
    /// `multiline.pattern`, validated.
    pub pattern: String,
    /// `multiline.negate`: a line is a continuation when it does NOT match.
    pub negate: bool,
    /// `multiline.match`.
    pub match_: Match,
    /// `multiline.timeout`: an event whose last line is this old is handed out even though
    /// no line ended it yet.
    pub timeout: Duration,
    /// `multiline.maxLines`: lines past this many are dropped from the event (still consumed).
    pub max_lines: usize,
    /// `multiline.maxBytes`: bytes past this many are cut from the event (still consumed).
    pub max_bytes: usize,
    /// `multiline.maxHeldBytes`: bytes of open events all files may hold together.
    pub max_held_bytes: u64,
}

/// Reads the `multiline.*` keys: `None` when none is set (or after an error, reported on its
/// key's line).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<MultilineConfig> {
    let any = cx.comp().props.keys().any(|k| k.starts_with("multiline."));
    if !any {
        return None;
    }
    let pattern = pattern(cx);
    let negate = cx.bool("multiline.negate", false);
    let match_ = match_side(cx);
    let timeout = timeout(cx);
    let max_lines = cx.u64("multiline.maxLines", MAX_LINES_DEFAULT, 1, MAX_LINES_LIMIT) as usize;
    let max_bytes = cx.bytes("multiline.maxBytes", MAX_BYTES_DEFAULT, 1, MAX_BYTES_LIMIT) as usize;
    let max_held_bytes = cx.bytes(
        "multiline.maxHeldBytes",
        MAX_HELD_BYTES_DEFAULT.max(max_bytes as u64),
        1,
        MAX_HELD_BYTES_LIMIT,
    );
    if max_held_bytes < max_bytes as u64 {
        cx.error(
            "multiline.maxHeldBytes",
            format!("{max_held_bytes} is below multiline.maxBytes {max_bytes}: one file's event must fit"),
        );
    }
    if cx.failed() {
        return None;
    }
    Some(MultilineConfig {
        pattern: pattern?,
        negate,
        match_,
        timeout,
        max_lines,
        max_bytes,
        max_held_bytes,
    })
}

/// `multiline.pattern` (required): a regular expression of at most [`PATTERN_BYTES_MAX`].
fn pattern(cx: &mut Ctx<'_>) -> Option<String> {
    let pattern = cx.required("multiline.pattern");
    if let Some(p) = &pattern {
        if p.len() > PATTERN_BYTES_MAX {
            cx.error(
                "multiline.pattern",
                format!("{} bytes exceed the limit {PATTERN_BYTES_MAX}", p.len()),
            );
        } else if let Err(e) = regex::bytes::Regex::new(p) {
            cx.error(
                "multiline.pattern",
                format!("invalid regular expression {p:?}: {e}"),
            );
        }
    }
    pattern
}

/// `multiline.match`: `after` (the default) or `before`.
fn match_side(cx: &mut Ctx<'_>) -> Match {
    match cx.get("multiline.match") {
        None => Match::After,
        Some(v) if v.trim().eq_ignore_ascii_case("after") => Match::After,
        Some(v) if v.trim().eq_ignore_ascii_case("before") => Match::Before,
        Some(v) => {
            cx.error(
                "multiline.match",
                format!("unknown value {v:?}; expected after or before"),
            );
            Match::After
        }
    }
}

/// `multiline.timeout`: at least [`TIMEOUT_MIN`].
fn timeout(cx: &mut Ctx<'_>) -> Duration {
    match cx.get("multiline.timeout") {
        None => TIMEOUT_DEFAULT,
        Some(v) => match duration::parse(&v) {
            Ok(d) if d >= TIMEOUT_MIN => d,
            Ok(_) => {
                cx.error(
                    "multiline.timeout",
                    format!("must be at least {}ms, got {v:?}", TIMEOUT_MIN.as_millis()),
                );
                TIMEOUT_DEFAULT
            }
            Err(e) => {
                cx.error("multiline.timeout", e.to_string());
                TIMEOUT_DEFAULT
            }
        },
    }
}
