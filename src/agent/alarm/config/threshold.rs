//! An alarm's thresholds: the trigger (`above` or `below`, exactly one) and the clearing
//! threshold on the other side of it, checked against the trigger.

use super::keys::number;
use super::types::Trigger;
use crate::agent::config::ctx::Ctx;

/// The trigger (`above` or `below`, exactly one) and the clearing threshold on the other side
/// of it (`clearBelow` for `above`, `clearAbove` for `below`), not beyond the trigger's.
pub(super) fn thresholds(cx: &mut Ctx<'_>) -> (Option<Trigger>, Option<f64>) {
    let above = number(cx, "above");
    let below = number(cx, "below");
    let clear_below = number(cx, "clearBelow");
    let clear_above = number(cx, "clearAbove");
    let trigger = match (above, below) {
        (Some(_), Some(_)) => {
            cx.error(
                "below",
                "above and below are both set; an alarm has one threshold",
            );
            None
        }
        (Some(x), None) => Some(Trigger::Above(x)),
        (None, Some(x)) => Some(Trigger::Below(x)),
        (None, None) => {
            cx.error("above", "required key is missing (set above or below)");
            None
        }
    };
    let clear = match trigger {
        Some(Trigger::Above(x)) => clear_threshold(cx, x, clear_below, clear_above, Side::Below),
        Some(Trigger::Below(x)) => clear_threshold(cx, x, clear_above, clear_below, Side::Above),
        None => None,
    };
    (trigger, clear)
}

/// A side of a threshold: an alarm raised on one side clears on the other.
#[derive(Clone, Copy)]
enum Side {
    Below,
    Above,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Below => "below",
            Side::Above => "above",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Below => Side::Above,
            Side::Above => Side::Below,
        }
    }

    /// The key of a clearing threshold on this side.
    fn clear_key(self) -> &'static str {
        match self {
            Side::Below => "clearBelow",
            Side::Above => "clearAbove",
        }
    }

    /// Whether clearing on this side at `c` would clear an alarm raised at `x` while raised.
    fn beyond(self, c: f64, x: f64) -> bool {
        match self {
            Side::Below => c > x,
            Side::Above => c < x,
        }
    }
}

/// The clearing threshold `clear` of an alarm raised at `x` that clears on `side`; a
/// clearing threshold on the raising side (`wrong`) is an error, and so is one beyond `x`.
fn clear_threshold(
    cx: &mut Ctx<'_>,
    x: f64,
    clear: Option<f64>,
    wrong: Option<f64>,
    side: Side,
) -> Option<f64> {
    let raised = side.other();
    if wrong.is_some() {
        let (r, s) = (raised.word(), side.word());
        let msg = format!(
            "an alarm raised {r} a threshold clears {s} one: use {}",
            side.clear_key()
        );
        cx.error(raised.clear_key(), msg);
    }
    let c = clear?;
    if side.beyond(c, x) {
        let r = raised.word();
        let msg = format!(
            "must not be {r} the threshold {x} (the alarm would clear while raised), got {c}"
        );
        cx.error(side.clear_key(), msg);
    }
    Some(c)
}
