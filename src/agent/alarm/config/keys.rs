//! Typed values of an alarm's or a notifier's keys: a duration (`30s`, `5m`) with a default,
//! and a finite number; a bad one is a problem at its line.

use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::duration;

/// The duration at `key`, `default` when unset or bad (a problem then).
pub(super) fn dur(cx: &mut Ctx<'_>, key: &str, default: Duration) -> Duration {
    match cx.get(key) {
        None => default,
        Some(v) => duration::parse(&v).unwrap_or_else(|e| {
            cx.error(key, e.to_string());
            default
        }),
    }
}

/// The finite number at `key`, `None` when unset or bad (a problem then).
pub(super) fn number(cx: &mut Ctx<'_>, key: &str) -> Option<f64> {
    let v = cx.get(key)?;
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            cx.error(key, format!("expected a number, got {v:?}"));
            None
        }
    }
}
