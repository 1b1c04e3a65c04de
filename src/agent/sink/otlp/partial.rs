//! Which events of a batch a receiver's `partial_success` rejected: those at the indexes a
//! Sluice source lists after `INDEXES_MARK` (mapped through the request's record order), or
//! every event when the receiver rejected as many records as were sent; `None` when the
//! receiver (not a Sluice source) gave only a count smaller than the batch, so no event can be
//! named.

use crate::agent::otlp::proto::{ExportLogsPartialSuccess, INDEXES_MARK};

/// The indexes (into the batch) of the rejected events; `Some(empty)` when none were.
pub(crate) fn rejected_events(p: &ExportLogsPartialSuccess, order: &[usize]) -> Option<Vec<usize>> {
    let n = usize::try_from(p.rejected_log_records).unwrap_or(0);
    if n == 0 {
        return Some(Vec::new());
    }
    if n >= order.len() {
        return Some(order.to_vec());
    }
    let (_, list) = p.error_message.rsplit_once(INDEXES_MARK)?;
    let events: Option<Vec<usize>> = list
        .split(',')
        .map(|i| {
            i.trim()
                .parse::<usize>()
                .ok()
                .and_then(|i| order.get(i).copied())
        })
        .collect();
    events.filter(|e| e.len() == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(n: i64, msg: &str) -> ExportLogsPartialSuccess {
        ExportLogsPartialSuccess {
            rejected_log_records: n,
            error_message: msg.into(),
        }
    }

    #[test]
    fn a_sluice_sources_indexes_name_the_events_through_the_record_order() {
        let order = [2, 0, 1, 3];
        let p = partial(
            2,
            "2 log record(s) rejected; the first, record 1: x; rejected indexes: 1,3",
        );
        assert_eq!(rejected_events(&p, &order), Some(vec![0, 3]));
    }

    #[test]
    fn a_count_alone_names_every_event_only_when_it_covers_the_batch() {
        let order = [0, 1, 2];
        assert_eq!(
            rejected_events(&partial(3, "too big"), &order),
            Some(vec![0, 1, 2])
        );
        assert_eq!(rejected_events(&partial(1, "too big"), &order), None);
        assert_eq!(rejected_events(&partial(0, ""), &order), Some(vec![]));
        let wrong = partial(2, "x; rejected indexes: 1,9");
        assert_eq!(
            rejected_events(&wrong, &order),
            None,
            "an index past the batch"
        );
    }
}
