//! The exactly-once delivery of one take (docs/nats.md has the argument):
//!
//! 1. each event's id (`sluiceId`: origin and span) is parsed; for each origin whose progress
//!    record the sink does not hold, the record is read back (the last message on
//!    `<progressSubject>.<origin>`, none: nothing stored yet) and verified with the sink's
//!    key; one that does not verify is refused (WARN, `ProgressRecordRefusedCount`): the sink
//!    fences on it but trusts only what its own acknowledged records said before;
//! 2. events whose span the record covers are dropped: they are in the stream already
//!    (counted as `EventAlreadyStoredCount`, not as drained);
//! 3. the rest go out as one atomic batch that starts with one new record per origin (the old
//!    ranges plus the new spans), each fenced with `Nats-Expected-Last-Subject-Sequence` =
//!    the sequence of the record it extends;
//! 4. a PubAck makes the new records the held ones; a fence failure (another writer, or an
//!    earlier attempt of this one, stored a record since) forgets them and the take is tried
//!    again at once (up to [`FENCE_TRIES`]); any other failure forgets them too and fails the
//!    take, so the next try reads them back first.

use std::collections::{BTreeMap, BTreeSet};

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::HeaderMap;
use bytes::Bytes;
use sluice_core::dedup::{IdSpan, EVENT_ID_HEADER};
use sluice_core::Event;

use super::batch::{self, BatchError, Msg, ERR_WRONG_LAST_SEQUENCE};
use super::message::to_msg_within;
use super::progress::{self as record, Progress, Ranges};
use super::NatsSink;
use crate::agent::failpoint;
use crate::agent::metrics::SinkCounter;
use crate::agent::sink::{Delivery, Poisoned, SinkError, SinkErrorKind};

/// Most origins whose records the sink holds; past it they are all forgotten and read back
/// as batches need them (a collector's sink sees every edge's origin).
pub(super) const HELD_RECORDS_MAX: usize = 100_000;

/// Attempts of one take when the fence fails (each reads the records back first).
pub(super) const FENCE_TRIES: usize = 3;

use crate::agent::nats::PROGRESS_HEADER;

/// One take's messages, before the records are added.
struct Plan {
    /// Messages to publish with their ids (None: an event without an id).
    msgs: Vec<(Msg, Option<IdSpan>)>,
}

/// Delivers `events` exactly once (see the module header).
pub(super) async fn deliver(
    sink: &mut NatsSink,
    events: Vec<Event>,
) -> Result<Delivery, SinkError> {
    let plan = plan(sink, &events);
    for attempt in 1..=FENCE_TRIES {
        match attempt_batch(sink, &plan).await {
            Err(Attempt::Fenced(why)) if attempt < FENCE_TRIES => {
                tracing::info!(sink = %sink.name, attempt, %why, "a progress record changed since it was read; reading it back and trying again");
            }
            Err(Attempt::Fenced(why)) => return Err(sink.err(SinkErrorKind::Peer, why)),
            Err(Attempt::Failed(e)) => return Err(e),
            Ok(()) => return Ok(Delivery::Done),
        }
    }
    Ok(Delivery::Done)
}

/// Every event as a message with its id; the ones that cannot be messages (or are larger than
/// the server or the stream takes) go to poison.
fn plan(sink: &mut NatsSink, events: &[Event]) -> Plan {
    let mut msgs = Vec::with_capacity(events.len());
    let limit = sink.limit();
    for e in events {
        match to_msg_within(&sink.cfg.subject, e, limit.as_ref()) {
            Ok(m) => {
                let id = e
                    .headers
                    .get(EVENT_ID_HEADER)
                    .and_then(IdSpan::parse)
                    .filter(IdSpan::plausible);
                msgs.push((m, id));
            }
            Err(reason) => sink.poisoned.push(Poisoned {
                event: e.clone(),
                reason: reason.to_string(),
            }),
        }
    }
    Plan { msgs }
}

enum Attempt {
    /// The fence failed: nothing was stored; try again after reading the records back.
    Fenced(String),
    /// Anything else.
    Failed(SinkError),
}

/// One try: read what is missing, drop what is stored, publish the rest with the records.
async fn attempt_batch(sink: &mut NatsSink, plan: &Plan) -> Result<(), Attempt> {
    if sink.progress.len() > HELD_RECORDS_MAX {
        sink.progress.clear();
    }
    if sink.known.len() > HELD_RECORDS_MAX {
        sink.known.clear();
    }
    let origins: BTreeSet<u64> = plan
        .msgs
        .iter()
        .filter_map(|(_, id)| id.map(|s| s.origin))
        .collect();
    for &o in &origins {
        if !sink.progress.contains_key(&o) {
            let p = read_progress(sink, o).await.map_err(Attempt::Failed)?;
            sink.progress.insert(o, p);
        }
    }
    let mut ranges: BTreeMap<u64, Ranges> = BTreeMap::new();
    let mut out = Vec::new();
    let mut dropped = 0usize;
    for (m, id) in &plan.msgs {
        if let Some(s) = id {
            let r = ranges.entry(s.origin).or_insert_with(|| {
                sink.progress
                    .get(&s.origin)
                    .map(|p| p.ranges.clone())
                    .unwrap_or_default()
            });
            if r.covers(s) {
                dropped += 1;
                continue;
            }
            r.insert(s);
        }
        out.push(Msg {
            subject: m.subject.clone(),
            headers: m.headers.clone(),
            payload: m.payload.clone(),
        });
    }
    sink.already_stored = dropped as u64;
    if dropped > 0 {
        tracing::info!(sink = %sink.name, dropped, "dropped events the stream already holds (their batch was stored before a failure or a restart; counted as EventAlreadyStoredCount)");
    }
    // Only the origins with an event still to send get a record.
    ranges.retain(|o, r| sink.progress.get(o).is_none_or(|p| p.ranges != *r));
    if out.is_empty() {
        return Ok(());
    }
    commit(sink, ranges, out).await
}

/// Publishes the records of `ranges` and then `events` as one batch; on its PubAck the
/// records are the held ones.
async fn commit(
    sink: &mut NatsSink,
    ranges: BTreeMap<u64, Ranges>,
    events: Vec<Msg>,
) -> Result<(), Attempt> {
    let Some(client) = sink.client.clone() else {
        return Err(Attempt::Failed(
            sink.err(SinkErrorKind::Connect, "not connected"),
        ));
    };
    let Some(key) = sink.key.clone() else {
        return Err(Attempt::Failed(
            sink.err(SinkErrorKind::Config, "no progress key"),
        ));
    };
    let mut msgs = records(sink, &ranges, &key, events.len());
    let n = msgs.len() + events.len();
    msgs.extend(events);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let result = batch::publish(&client, &id, msgs).await;
    let origins: Vec<u64> = ranges.keys().copied().collect();
    match result {
        Ok(ack) if ack.count == n as u64 => {
            let first = ack.seq + 1 - ack.count;
            for (k, (o, r)) in ranges.into_iter().enumerate() {
                sink.known.remove(&o);
                sink.progress.insert(
                    o,
                    Progress {
                        seq: first + k as u64,
                        ranges: r,
                    },
                );
            }
            failpoint::hold(failpoint::NATS_SINK_STORED).await;
            Ok(())
        }
        Ok(ack) => {
            forget(sink, &origins);
            Err(Attempt::Failed(sink.err(
                SinkErrorKind::Peer,
                format!("the batch's PubAck counts {} messages, not {n}", ack.count),
            )))
        }
        Err(BatchError::Refused {
            err_code,
            description,
        }) if ERR_WRONG_LAST_SEQUENCE.contains(&err_code) => {
            forget(sink, &origins);
            Err(Attempt::Fenced(description))
        }
        Err(e) => {
            forget(sink, &origins);
            sink.down_if_disconnected();
            let kind = match e {
                BatchError::NoAnswer(_) => SinkErrorKind::Timeout,
                _ => SinkErrorKind::Peer,
            };
            Err(Attempt::Failed(sink.err(
                kind,
                format!("{e} (servers {})", sink.cfg.conn.url()),
            )))
        }
    }
}

/// The signed progress records of `ranges`, each fenced on the record it extends, with room
/// for `more` messages after them.
fn records(
    sink: &NatsSink,
    ranges: &BTreeMap<u64, Ranges>,
    key: &super::progress_key::ProgressKey,
    more: usize,
) -> Vec<Msg> {
    let mut msgs = Vec::with_capacity(ranges.len() + more);
    for (o, r) in ranges {
        let expect = sink.progress.get(o).map_or(0, |p| p.seq);
        let mut headers = HeaderMap::new();
        headers.insert(
            "Nats-Expected-Last-Subject-Sequence",
            expect.to_string().as_str(),
        );
        headers.insert(PROGRESS_HEADER, format!("{o:016x}").as_str());
        let subject = record_subject(&sink.cfg.progress_subject, *o);
        let payload = Bytes::from(record::sign(r, &subject, key));
        msgs.push(Msg {
            subject,
            headers,
            payload,
        });
    }
    msgs
}

/// Forgets the records of `origins`: the next try reads them back. What they said stays
/// known (it was acknowledged), in case what is read back does not verify.
fn forget(sink: &mut NatsSink, origins: &[u64]) {
    for o in origins {
        if let Some(p) = sink.progress.remove(o) {
            sink.known.insert(*o, p.ranges);
        }
    }
}

/// `<progressSubject>.<origin as 16 hex digits>`.
pub(crate) fn record_subject(prefix: &str, origin: u64) -> String {
    format!("{prefix}.{origin:016x}")
}

/// The last record of `origin` in the stream (none: nothing of it stored yet). A message
/// there that does not verify is refused: its sequence is the fence for the next record, and
/// its ranges are what this sink itself knew ([`forget`]), or none.
async fn read_progress(sink: &NatsSink, origin: u64) -> Result<Progress, SinkError> {
    let Some(stream) = &sink.stream else {
        return Err(sink.err(SinkErrorKind::Config, "the stream is not checked yet"));
    };
    let Some(key) = &sink.key else {
        return Err(sink.err(SinkErrorKind::Config, "no progress key"));
    };
    let subject = record_subject(&sink.cfg.progress_subject, origin);
    match stream.get_last_raw_message_by_subject(&subject).await {
        Ok(m) => match record::verify(&m.payload, &subject, key) {
            Ok(ranges) => Ok(Progress {
                seq: m.sequence,
                ranges,
            }),
            Err(why) => {
                sink.count(SinkCounter::ProgressRecordRefused);
                let known = sink.known.get(&origin).cloned().unwrap_or_default();
                tracing::warn!(sink = %sink.name, subject = %subject, seq = m.sequence, reason = %why,
                    "refused the progress record at stream sequence {} on {subject}: it {why}; no event is dropped on its account (the next record is written over it: events this sink cannot prove stored are sent, a duplicate at worst)", m.sequence);
                Ok(Progress {
                    seq: m.sequence,
                    ranges: known,
                })
            }
        },
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(Progress::default()),
        Err(e) => {
            sink.down_if_disconnected();
            Err(sink.err(
                SinkErrorKind::Timeout,
                format!(
                    "cannot read the progress record {subject} (servers {}): {e}",
                    sink.cfg.conn.url()
                ),
            ))
        }
    }
}
