//! Decoding a call of the avro source: off the async workers when large
//! ([`crate::agent::source::decoders`]), within the decoded budget. The handshake is
//! answered with the `known` lock held only to look up and remember a hash.
//!
//! The events of a call are counted (`call::read_params`: bodies, keys and values plus a
//! fixed cost per event and per header, [`crate::wire::cost`]) against the source's decoded
//! budget before they exist: first optimistically (a guess from the payload's size, if it is
//! free now), and when the call needs more than the guess, its exact count is taken without
//! decoding and waited for (within the frame's deadline; a call that would need more than the
//! whole budget is refused). The budget is held until the put returns.
//!
//! A call decoded on the blocking pool at the first guess is put on the same thread (see
//! [`crate::agent::source::rpc_put`]): one hop to the blocking pool per call instead of two.

use std::sync::Arc;

use tokio::time::Instant;

use super::Shared;
use crate::agent::source::budget::{self, Held};
use crate::agent::source::decoders::Then;
use crate::agent::source::rpc_put::Putter;
use crate::agent::stop::Stop;
use crate::wire::avro::server::{Begun, EventCall, ServerConn};
use crate::wire::avro::{AvroError, Status};
use crate::wire::bodies::Bodies;
use sluice_core::{Bytes, Event};

/// The first guess of a call's decoded bytes: this many times its payload, plus
/// [`GUESS_EXTRA_BYTES`] (events of 1 KiB bodies with a few headers count about 1.4 times).
const GUESS_FACTOR: u64 = 2;
/// See [`GUESS_FACTOR`].
const GUESS_EXTRA_BYTES: u64 = 64 << 10;

/// A request decoded.
pub(crate) enum Decoded {
    /// Send these buffers; nothing to put.
    Reply(Vec<Vec<u8>>),
    /// Send these buffers and close (another protocol).
    Refuse {
        reply: Vec<Vec<u8>>,
        error: AvroError,
    },
    /// Decoded and put: answer `status`.
    Committed { call: EventCall, status: Status },
    /// Decoded, not put (asked not to): put `events` (their decoded budget `held` until the
    /// put returns), then answer.
    Events {
        call: EventCall,
        events: Vec<Event>,
        held: Held,
    },
    /// The decoded budget did not free up within the frame's deadline: answer `FAILED`
    /// (the client resends later).
    Busy { call: EventCall, cost: u64 },
}

/// Why a request could not be decoded.
pub(crate) enum Failed {
    /// Garbage or over a limit: log, count, close.
    Bad(AvroError),
    /// The source is stopping.
    Stopped,
}

/// Decodes `payload` (its frame budget `frame_held` is given back once it is decoded) and,
/// with `putter`, puts its events: a call decoded on the blocking pool whose events fit the
/// first guess is put there when the channel puts blocking, any other from this task. A call
/// comes back [`Decoded::Committed`]; without `putter`, [`Decoded::Events`] (decoded only).
pub(crate) async fn decode(
    conn: &mut ServerConn,
    payload: Bytes,
    frame_held: Option<Held>,
    shared: &Arc<Shared>,
    deadline: Instant,
    stop: &mut Stop,
    putter: Option<&Putter>,
) -> Result<Decoded, Failed> {
    let size = payload.len();
    let pass = shared
        .decoders
        .run_then(
            size,
            stop,
            {
                let (mut c, shared) = (conn.clone(), shared.clone());
                move || {
                    let first = first(&mut c, &payload, &shared);
                    Pass {
                        conn: c,
                        payload,
                        frame_held,
                        first,
                    }
                }
            },
            {
                let putter = putter.cloned();
                move |pass| match &putter {
                    Some(p) => put_now(pass, p),
                    None => pass,
                }
            },
        )
        .await
        .ok_or(Failed::Stopped)?;
    let (Then::Decoded(pass) | Then::After(pass)) = pass;
    let Pass {
        conn: c,
        payload,
        frame_held,
        first,
    } = pass;
    *conn = c;
    let (call, cost) = match first.map_err(Failed::Bad)? {
        First::Done(d) => return Ok(d),
        First::Put { call, events, held } => {
            drop((payload, frame_held));
            return Ok(put_here(call, events, held, putter).await);
        }
        First::Count { call, cost } => (call, cost),
    };
    // The exact count is known and fits the budget: wait for it.
    let held = tokio::select! {
        _ = stop.wait() => return Err(Failed::Stopped),
        r = tokio::time::timeout_at(deadline, shared.decoded.acquire(cost)) => r,
    };
    let held = match held {
        Ok(Some(h)) => h,
        Ok(None) | Err(_) => return Ok(Decoded::Busy { call, cost }),
    };
    let decoded = shared
        .decoders
        .run(size, stop, move || {
            call.decode(&payload, Bodies::Share(&payload), cost)
                .map(|(events, _)| (call, events))
        })
        .await
        .ok_or(Failed::Stopped)?;
    drop(frame_held);
    let (call, events) = decoded.map_err(Failed::Bad)?;
    Ok(put_here(call, events, held, putter).await)
}

/// Puts a decoded call's events from the connection's task (their decoded budget `held`
/// until the put returns); without a putter, hands them back.
async fn put_here(
    call: EventCall,
    events: Vec<Event>,
    held: Held,
    putter: Option<&Putter>,
) -> Decoded {
    let Some(putter) = putter else {
        return Decoded::Events { call, events, held };
    };
    let status = Status::of(putter.put(call.batch, events).await);
    drop(held);
    Decoded::Committed { call, status }
}

/// The first pass's outcome and what the second (if any) needs.
struct Pass {
    conn: ServerConn,
    payload: Bytes,
    frame_held: Option<Held>,
    first: Result<First, AvroError>,
}

/// On the blocking thread that decoded it: puts a decoded call (its frame budget given back
/// first, its decoded budget once the put returns; the payload's buffer goes back to the
/// frame pool when the last event's body is dropped); anything else as it is.
fn put_now(pass: Pass, putter: &Putter) -> Pass {
    match pass.first {
        Ok(First::Put { call, events, held }) if putter.puts_blocking() => {
            drop((pass.payload, pass.frame_held));
            let status = Status::of(putter.put_blocking(call.batch, events));
            drop(held);
            Pass {
                conn: pass.conn,
                payload: Bytes::new(),
                frame_held: None,
                first: Ok(First::Done(Decoded::Committed { call, status })),
            }
        }
        first => Pass { first, ..pass },
    }
}

/// What the first pass found.
enum First {
    /// Nothing to put (or already put, [`Decoded::Committed`]).
    Done(Decoded),
    /// Put these events, then answer; `held` is their decoded budget.
    Put {
        call: EventCall,
        events: Vec<Event>,
        held: Held,
    },
    /// The call's events need `cost` decoded bytes, more than the guess had free.
    Count { call: EventCall, cost: u64 },
}

/// Handshake and call head, then the events if the guess of their decoded bytes is free and
/// enough; else their exact count.
fn first(conn: &mut ServerConn, payload: &Bytes, shared: &Shared) -> Result<First, AvroError> {
    let call = match conn.begin(payload, &mut |req| shared.answer_handshake(req))? {
        Begun::Reply(b) => return Ok(First::Done(Decoded::Reply(b))),
        Begun::Refuse { reply, error } => return Ok(First::Done(Decoded::Refuse { reply, error })),
        Begun::Events(call) => call,
    };
    let total = shared.decoded.total();
    let guess = (payload.len() as u64)
        .saturating_mul(GUESS_FACTOR)
        .saturating_add(GUESS_EXTRA_BYTES)
        .min(total);
    if let Some(mut held) = shared.decoded.try_acquire(guess) {
        match call.decode(payload, Bodies::Share(payload), guess) {
            Ok((events, cost)) => {
                budget::shrink_to(&mut held, cost);
                return Ok(First::Put { call, events, held });
            }
            Err(AvroError::OverBudget { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let cost = call.cost(payload)?;
    if cost > total {
        return Err(AvroError::TooLong {
            what: "decoded call (max-inflight-bytes / 2)",
            len: cost,
            max: total,
            offset: call.params_at,
        });
    }
    Ok(First::Count { call, cost })
}
