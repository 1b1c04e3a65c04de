//! Decoding a call of an RPC source: off the async workers when large
//! ([`crate::agent::source::decoders`]), within the decoded budget.
//!
//! The events of a call are counted (bodies, keys and values plus a fixed cost per event
//! and per header, [`crate::wire::cost`]) against the source's decoded budget before they
//! exist: first optimistically (a guess from the payload's size, if it is free now), and when
//! the call needs more than the guess, its exact count is taken without decoding and waited
//! for (within the frame's deadline; a call that would need more than the whole budget is
//! refused). The budget is held until the put returns.
//!
//! A call decoded on the blocking pool at the first guess is put on the same thread (see
//! [`crate::agent::source::rpc::put`]): one hop to the blocking pool per call instead of two.

use std::sync::Arc;

use tokio::time::Instant;

use super::{Bad, Begun, Decoded, Failed, RpcProtocol};
use crate::agent::source::budget::{self, Held};
use crate::agent::source::decoders::{Then, INLINE_DECODE_BYTES_MAX};
use crate::agent::source::rpc::put::Putter;
use crate::agent::stop::Stop;
use sluice_core::{Bytes, Event};

/// Largest call read behind others decoded on its connection's task when its events are few
/// enough ([`INLINE_CALL_COST_MAX`]): Flume's 100-event batches of small lines. Decoded on the
/// blocking pool, such a call came back to the task to be put with the calls around it: two
/// hops where the put needs one, and the hops cost more than the decode (W2's collector: 17 %
/// of both agents' CPU per event, docs/performance-findings.md). A call put at once is decoded
/// and put on one blocking thread, as before.
pub(crate) const INLINE_CALL_BYTES_MAX: usize = 64 << 10;
/// Most decoded bytes ([`crate::wire::cost`]) of a call decoded on its connection's task:
/// about 1,300 empty events or 1,000 empty headers, 0.1 ms of decoding here, less than the
/// worst call of [`INLINE_DECODE_BYTES_MAX`] (4,000 empty events, 0.28 ms).
pub(crate) const INLINE_CALL_COST_MAX: u64 = 128 << 10;

/// The first guess of a call's decoded bytes: this many times its payload, plus
/// [`GUESS_EXTRA_BYTES`] (events of 1 KiB bodies with a few headers count about 1.4 times).
const GUESS_FACTOR: u64 = 2;
/// See [`GUESS_FACTOR`].
const GUESS_EXTRA_BYTES: u64 = 64 << 10;

fn bad<P: RpcProtocol>(call: Option<P::Call>, error: P::Error) -> Failed<P> {
    Failed::Bad(Bad { call, error })
}

/// Decodes `payload` (its frame budget `frame_held` is given back once it is decoded) and,
/// with `putter`, puts its events: a call decoded on the blocking pool whose events fit the
/// first guess is put there when the channel puts blocking, any other from this task. A call
/// comes back [`Decoded::Committed`]; without `putter`, [`Decoded::Events`] (decoded only).
pub(crate) async fn decode<P: RpcProtocol>(
    conn: &mut P::Conn,
    payload: Bytes,
    frame_held: Option<Held>,
    shared: &Arc<P>,
    deadline: Instant,
    stop: &mut Stop,
    putter: Option<&Putter>,
) -> Result<Decoded<P>, Failed<P>> {
    let size = payload.len();
    let base = shared.base();
    let pass = first_pass(conn.clone(), payload, frame_held, shared, stop, putter)
        .await
        .ok_or(Failed::Stopped)?;
    let Pass {
        conn: c,
        payload,
        frame_held,
        first,
    } = pass;
    *conn = c;
    let (call, cost) = match first? {
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
        r = tokio::time::timeout_at(deadline, base.decoded.acquire(cost)) => r,
    };
    let Ok(Some(held)) = held else {
        return Ok(Decoded::Busy { call, cost });
    };
    let s = shared.clone();
    let (call, decoded) = base
        .decoders
        .run(size, stop, move || {
            let d = s.decode(&call, &payload, cost);
            (call, d)
        })
        .await
        .ok_or(Failed::Stopped)?;
    drop(frame_held);
    match decoded {
        Ok((events, _)) => Ok(put_here(call, events, held, putter).await),
        Err(e) => Err(bad(Some(call), e)),
    }
}

/// The first pass ([`first`]): on the connection's task when the payload is small (at most
/// [`INLINE_DECODE_BYTES_MAX`], or, for a call not put at once (without `putter`: it waits
/// to be put with the calls around it), up to [`INLINE_CALL_BYTES_MAX`] when its events come
/// to at most [`INLINE_CALL_COST_MAX`] decoded bytes), else off the workers, and there the
/// put too when the events fit the guess ([`put_now`]). `None` when the source stops.
async fn first_pass<P: RpcProtocol>(
    c: P::Conn,
    payload: Bytes,
    frame_held: Option<Held>,
    shared: &Arc<P>,
    stop: &mut Stop,
    putter: Option<&Putter>,
) -> Option<Pass<P>> {
    let size = payload.len();
    if putter.is_none() && size > INLINE_DECODE_BYTES_MAX && size <= INLINE_CALL_BYTES_MAX {
        let mut inline = c.clone();
        // `None`: too many events or headers for a worker; decoded again, off the workers.
        if let Some(first) = first_inline(&mut inline, &payload, &**shared) {
            return Some(Pass {
                conn: inline,
                payload,
                frame_held,
                first,
            });
        }
    }
    let mut c = c;
    let (s, putter) = (shared.clone(), putter.cloned());
    let decode = move || {
        let first = first(&mut c, &payload, &*s);
        Pass {
            conn: c,
            payload,
            frame_held,
            first,
        }
    };
    let then = move |pass| match &putter {
        Some(p) => put_now(pass, p),
        None => pass,
    };
    let pass = shared
        .base()
        .decoders
        .run_then(size, stop, decode, then)
        .await?;
    let (Then::Decoded(pass) | Then::After(pass)) = pass;
    Some(pass)
}

/// Puts a decoded call's events from the connection's task (their decoded budget `held`
/// until the put returns); without a putter, hands them back.
async fn put_here<P: RpcProtocol>(
    call: P::Call,
    events: Vec<Event>,
    held: Held,
    putter: Option<&Putter>,
) -> Decoded<P> {
    let Some(putter) = putter else {
        return Decoded::Events { call, events, held };
    };
    let committed = putter.put(P::batch(&call), events).await;
    drop(held);
    Decoded::Committed { call, committed }
}

/// The first pass's outcome and what the second (if any) needs.
struct Pass<P: RpcProtocol> {
    conn: P::Conn,
    payload: Bytes,
    frame_held: Option<Held>,
    first: Result<First<P>, Failed<P>>,
}

/// On the blocking thread that decoded it: puts a decoded call (its frame budget given back
/// first, its decoded budget once the put returns; the payload's buffer goes back to the
/// frame pool when the last event's body is dropped); anything else as it is.
fn put_now<P: RpcProtocol>(pass: Pass<P>, putter: &Putter) -> Pass<P> {
    match (pass.first, putter.blocking()) {
        (Ok(First::Put { call, events, held }), Some(here)) => {
            drop((pass.payload, pass.frame_held));
            let committed = putter.put_blocking(here, P::batch(&call), events);
            drop(held);
            Pass {
                conn: pass.conn,
                payload: Bytes::new(),
                frame_held: None,
                first: Ok(First::Done(Decoded::Committed { call, committed })),
            }
        }
        (first, _) => Pass { first, ..pass },
    }
}

/// What the first pass found.
enum First<P: RpcProtocol> {
    /// Nothing to put (or already put, [`Decoded::Committed`]).
    Done(Decoded<P>),
    /// Put these events, then answer; `held` is their decoded budget.
    Put {
        call: P::Call,
        events: Vec<Event>,
        held: Held,
    },
    /// The call's events need `cost` decoded bytes, more than the guess had free.
    Count { call: P::Call, cost: u64 },
}

/// The request's head, then the events if the guess of their decoded bytes is free and
/// enough; else their exact count.
fn first<P: RpcProtocol>(
    conn: &mut P::Conn,
    payload: &Bytes,
    shared: &P,
) -> Result<First<P>, Failed<P>> {
    let call = match shared.begin(conn, payload).map_err(|e| bad(None, e))? {
        Begun::Other(o) => return Ok(First::Done(Decoded::Other(o))),
        Begun::Call(call) => call,
    };
    let call = match guessed(call, payload, shared, u64::MAX)? {
        Ok(put) => return Ok(put),
        Err(call) => call,
    };
    let total = shared.base().decoded.total();
    let cost = match shared.cost(&call, payload) {
        Ok(cost) => cost,
        Err(e) => return Err(bad(Some(call), e)),
    };
    if cost > total {
        let e = P::too_long(&call, cost, total);
        return Err(bad(Some(call), e));
    }
    Ok(First::Count { call, cost })
}

/// [`first`] on the connection's task: the events decoded only up to `INLINE_CALL_COST_MAX`
/// decoded bytes; `None` when they need more (or their guess is not free), to be decoded
/// again off the workers.
fn first_inline<P: RpcProtocol>(
    conn: &mut P::Conn,
    payload: &Bytes,
    shared: &P,
) -> Option<Result<First<P>, Failed<P>>> {
    let call = match shared.begin(conn, payload) {
        Err(e) => return Some(Err(bad(None, e))),
        Ok(Begun::Other(o)) => return Some(Ok(First::Done(Decoded::Other(o)))),
        Ok(Begun::Call(call)) => call,
    };
    match guessed(call, payload, shared, INLINE_CALL_COST_MAX) {
        Ok(Ok(put)) => Some(Ok(put)),
        Ok(Err(_)) => None,
        Err(e) => Some(Err(e)),
    }
}

/// The call's events decoded within the guess of their decoded bytes (and `cap`), if the
/// guess is free: [`First::Put`], or the call back (`Err`) when the guess is taken or too
/// small.
fn guessed<P: RpcProtocol>(
    call: P::Call,
    payload: &Bytes,
    shared: &P,
    cap: u64,
) -> Result<Result<First<P>, P::Call>, Failed<P>> {
    let decoded = &shared.base().decoded;
    let guess = (payload.len() as u64)
        .saturating_mul(GUESS_FACTOR)
        .saturating_add(GUESS_EXTRA_BYTES)
        .min(decoded.total());
    let Some(mut held) = decoded.try_acquire(guess) else {
        return Ok(Err(call));
    };
    match shared.decode(&call, payload, guess.min(cap)) {
        Ok((events, cost)) => {
            budget::shrink_to(&mut held, cost);
            Ok(Ok(First::Put { call, events, held }))
        }
        Err(e) if P::over_budget(&e) => Ok(Err(call)),
        Err(e) => Err(bad(Some(call), e)),
    }
}
