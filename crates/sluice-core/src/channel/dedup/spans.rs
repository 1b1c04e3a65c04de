//! A transaction's id spans and puts: spans kept sorted and merged as ids are added, the
//! lookup of one span in them, and the removal of the puts dropped as duplicates.

use crate::dedup::IdSpan;
use crate::event::Event;

/// Adds `span` to a transaction's spans, kept sorted and merged (as [`coalesce`] leaves
/// them), so [`covered`] is a binary search. Ids from one upstream come in order: the common
/// case continues the last span and moves nothing; sparse or shuffled ids cost a search and
/// a shift, never a scan per event of the spans before it.
///
/// [`coalesce`]: crate::dedup::coalesce
pub(super) fn add_sorted(spans: &mut Vec<IdSpan>, span: IdSpan) {
    if let Some(last) = spans.last_mut() {
        if last.origin == span.origin && last.hi == span.lo {
            last.hi = span.hi;
            return;
        }
    }
    let at = spans.partition_point(|s| (s.origin, s.lo) < (span.origin, span.lo));
    spans.insert(at, span);
    // Merge with the neighbours it overlaps or touches (same rule as `coalesce`).
    let mut i = at.saturating_sub(1);
    while i + 1 < spans.len() {
        let (a, b) = (spans[i], spans[i + 1]);
        if a.origin == b.origin && b.lo <= a.hi {
            spans[i].hi = a.hi.max(b.hi);
            spans.remove(i + 1);
        } else if i + 1 > at {
            break;
        } else {
            i += 1;
        }
    }
}

/// Whether `span` lies within one of `spans`, sorted and merged (a duplicate inside one
/// transaction, or of one in flight).
pub(super) fn covered(spans: &[IdSpan], span: &IdSpan) -> bool {
    let i = spans.partition_point(|s| (s.origin, s.lo) <= (span.origin, span.lo));
    i > 0 && {
        let s = &spans[i - 1];
        s.origin == span.origin && s.lo <= span.lo && span.hi <= s.hi
    }
}

/// Removes the puts at the sorted indices `at`.
pub(super) fn drop_at(puts: &mut Vec<Event>, at: &[usize]) {
    if at.is_empty() {
        return;
    }
    let mut i = 0;
    let mut next = at.iter().peekable();
    puts.retain(|_| {
        let drop = next.next_if_eq(&&i).is_some();
        i += 1;
        !drop
    });
}
