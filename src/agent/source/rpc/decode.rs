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
//! [`crate::agent::source::rpc_put`]): one hop to the blocking pool per call instead of two.

use std::sync::Arc;

use tokio::time::Instant;

use super::{Bad, Begun, Decoded, Failed, RpcProtocol};
use crate::agent::source::budget::{self, Held};
use crate::agent::source::decoders::Then;
use crate::agent::source::rpc_put::Putter;
use crate::agent::stop::Stop;
use sluice_core::{Bytes, Event};

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

/// The first pass ([`first`]): off the workers when the payload is large, and there the
/// put too when the events fit the guess ([`put_now`]). `None` when the source stops.
async fn first_pass<P: RpcProtocol>(
    mut c: P::Conn,
    payload: Bytes,
    frame_held: Option<Held>,
    shared: &Arc<P>,
    stop: &mut Stop,
    putter: Option<&Putter>,
) -> Option<Pass<P>> {
    let size = payload.len();
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
    match pass.first {
        Ok(First::Put { call, events, held }) if putter.puts_blocking() => {
            drop((pass.payload, pass.frame_held));
            let committed = putter.put_blocking(P::batch(&call), events);
            drop(held);
            Pass {
                conn: pass.conn,
                payload: Bytes::new(),
                frame_held: None,
                first: Ok(First::Done(Decoded::Committed { call, committed })),
            }
        }
        first => Pass { first, ..pass },
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
    let decoded = &shared.base().decoded;
    let total = decoded.total();
    let guess = (payload.len() as u64)
        .saturating_mul(GUESS_FACTOR)
        .saturating_add(GUESS_EXTRA_BYTES)
        .min(total);
    if let Some(mut held) = decoded.try_acquire(guess) {
        match shared.decode(&call, payload, guess) {
            Ok((events, cost)) => {
                budget::shrink_to(&mut held, cost);
                return Ok(First::Put { call, events, held });
            }
            Err(e) if P::over_budget(&e) => {}
            Err(e) => return Err(bad(Some(call), e)),
        }
    }
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
