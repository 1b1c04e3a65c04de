//! `AvroFlumeEvent`s and the parameters made of them: one event or an array of them written,
//! read (every count checked against [`CallLimits`] and the bytes left before anything is
//! allocated), or only counted for their bytes.

use super::CallLimits;
use crate::avro::binary::{put_bytes, put_long, Reader};
use crate::avro::error::AvroError;
use crate::bodies::Bodies;
use crate::cost::Cost;
use crate::sent_headers::{sent, sent_len};
use crate::text::lossy;
use sluice_core::{Event, Headers};

/// Appends one `AvroFlumeEvent` (its id header included).
pub fn put_event(out: &mut Vec<u8>, e: &Event) {
    put_event_ids(out, e, true);
}

/// Appends one `AvroFlumeEvent`, its id header only `with_ids` ([`crate::sent_headers`]).
pub fn put_event_ids(out: &mut Vec<u8>, e: &Event, with_ids: bool) {
    put_event_head(out, e, with_ids);
    out.extend_from_slice(&e.body);
}

/// An `AvroFlumeEvent` up to its body's bytes: the headers (in insertion order, the id only
/// `with_ids`) and the body's length.
pub fn put_event_head(out: &mut Vec<u8>, e: &Event, with_ids: bool) {
    let n = sent_len(&e.headers, with_ids);
    if n > 0 {
        put_long(out, n as i64);
        for (k, v) in sent(&e.headers, with_ids) {
            put_bytes(out, k.as_bytes());
            put_bytes(out, v.as_bytes());
        }
    }
    put_long(out, 0);
    put_long(out, e.body.len() as i64);
}

/// Reads one `AvroFlumeEvent`.
pub fn read_event(r: &mut Reader<'_>, limits: &CallLimits) -> Result<Event, AvroError> {
    let mut cost = Cost::new(u64::MAX);
    let e = event(r, limits, &mut cost, Some(Bodies::Copy))?;
    Ok(e.unwrap_or_default())
}

/// Reads an `array<AvroFlumeEvent>`.
pub fn read_events(r: &mut Reader<'_>, limits: &CallLimits) -> Result<Vec<Event>, AvroError> {
    events(r, limits, &mut Cost::new(u64::MAX), Some(Bodies::Copy))
}

fn over(cost: &Cost) -> AvroError {
    AvroError::OverBudget { max: cost.max }
}

/// One event, its body made as `keep` says; `None` when only counting (`keep` is `None`:
/// nothing is allocated).
fn event(
    r: &mut Reader<'_>,
    limits: &CallLimits,
    cost: &mut Cost,
    keep: Option<Bodies<'_>>,
) -> Result<Option<Event>, AvroError> {
    cost.event().map_err(|_| over(cost))?;
    let mut headers = Headers::new();
    let mut seen = 0usize;
    loop {
        let n = r.block("event headers", limits.headers_max - seen, 2)?;
        if n == 0 {
            break;
        }
        seen += n;
        if keep.is_some() {
            headers.reserve(n);
        }
        for _ in 0..n {
            let k = r.bytes("header key")?;
            let v = r.bytes("header value")?;
            cost.header(k.len(), v.len()).map_err(|_| over(cost))?;
            if keep.is_some() {
                headers.insert(lossy(k), lossy(v));
            }
        }
    }
    let body = r.bytes("event body")?;
    cost.add(body.len() as u64).map_err(|_| over(cost))?;
    Ok(keep.map(|bodies| Event::with_headers(headers, bodies.body(body))))
}

/// An array of events (empty when only counting).
fn events(
    r: &mut Reader<'_>,
    limits: &CallLimits,
    cost: &mut Cost,
    keep: Option<Bodies<'_>>,
) -> Result<Vec<Event>, AvroError> {
    let mut events: Vec<Event> = Vec::new();
    let mut count = 0usize;
    loop {
        // An event takes at least 2 bytes (empty map, empty body).
        let n = r.block("appendBatch events", limits.events_max - count, 2)?;
        if n == 0 {
            return Ok(events);
        }
        count += n;
        if keep.is_some() {
            events.reserve(n);
        }
        for _ in 0..n {
            if let Some(e) = event(r, limits, cost, keep)? {
                events.push(e);
            }
        }
    }
}

/// The parameters of `append` (one event) or `appendBatch` (`batch`), read from `r` to the
/// end of the payload, with the bytes they are counted for ([`crate::cost`]). Decoding stops with
/// [`AvroError::OverBudget`], and drops what it decoded, as soon as the count passes
/// `cost_max`. Bodies are made as `bodies` says.
pub fn read_params(
    r: &mut Reader<'_>,
    batch: bool,
    limits: &CallLimits,
    bodies: Bodies<'_>,
    cost_max: u64,
) -> Result<(Vec<Event>, u64), AvroError> {
    let mut cost = Cost::new(cost_max);
    let events = if batch {
        events(r, limits, &mut cost, Some(bodies))?
    } else {
        event(r, limits, &mut cost, Some(bodies))?
            .into_iter()
            .collect()
    };
    r.finish("call parameters")?;
    Ok((events, cost.bytes))
}

/// What [`read_params`] would count the parameters for, found without decoding them (nothing
/// is allocated); the same limits and errors.
pub fn params_cost(r: &mut Reader<'_>, batch: bool, limits: &CallLimits) -> Result<u64, AvroError> {
    let mut cost = Cost::new(u64::MAX);
    if batch {
        events(r, limits, &mut cost, None)?;
    } else {
        event(r, limits, &mut cost, None)?;
    }
    r.finish("call parameters")?;
    Ok(cost.bytes)
}

/// Appends an `array<AvroFlumeEvent>` in one block.
pub fn put_events(out: &mut Vec<u8>, events: &[Event]) {
    if !events.is_empty() {
        put_long(out, events.len() as i64);
        for e in events {
            put_event(out, e);
        }
    }
    put_long(out, 0);
}
