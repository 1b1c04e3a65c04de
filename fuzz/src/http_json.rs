//! Fuzz body: the http source's JSON events (`sluice_wire::json`, Flume's `JSONHandler`). The
//! first byte picks the `Content-Type` (charset), the second `maxEventsPerRequest`. Nothing
//! may panic; counting without keeping (`json_cost`) and decoding agree on the cost and on
//! every error; no more events than the limit come out; and the events fit a budget of
//! exactly their cost, one byte less refuses them as over budget.

use sluice_wire::json::{json_cost, json_events_counted, JsonError};

/// The content types the first byte picks from.
const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("application/json"),
    Some("application/json; charset=UTF-16"),
    Some("application/json;charset=utf-32"),
    Some("application/json; charset=\"UTF-8\""),
    Some("application/json; charset=latin1"),
];

/// Runs one input.
pub fn run(data: &[u8]) {
    let [mode, limit, rest @ ..] = data else {
        return;
    };
    let ct = CONTENT_TYPES[usize::from(*mode) % CONTENT_TYPES.len()];
    let events_max = usize::from(*limit);
    let cost = json_cost(rest, ct, events_max);
    let kept = json_events_counted(rest, ct, events_max, u64::MAX);
    match (&cost, &kept) {
        (Ok(c), Ok((events, counted))) => {
            assert_eq!(c, counted, "json_cost and decoding count differently");
            assert!(events.len() <= events_max, "more events than the limit");
            let fits = json_events_counted(rest, ct, events_max, *c);
            assert_eq!(fits.map(|(e, _)| e.len()).ok(), Some(events.len()));
            if *c > 0 {
                let over = json_events_counted(rest, ct, events_max, c - 1);
                assert!(
                    matches!(over, Err(JsonError::OverBudget { .. })),
                    "{over:?}"
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "json_cost and decoding refuse differently"),
        _ => panic!("json_cost and decoding disagree: {cost:?} against {kept:?}"),
    }
}
