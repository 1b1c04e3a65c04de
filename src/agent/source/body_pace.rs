//! How fast the request bodies of one HTTP connection arrive, for the connection table
//! (peer_conns.rs): a connection whose bodies fall behind [`BODY_BYTES_PER_S_MIN`] holds its
//! slot without using it, as an idle one does, and is closed first when a new connection
//! needs a slot (issue 87: 1,024 connections trickling a body byte every 5 s kept 22 of 24
//! exports out, as hyper counts a request in progress from its headers on).
//!
//! The pace is the connection's, over all its bodies (an HTTP/2 connection multiplexes
//! them): while at least one body is being received, the connection is due more bytes by
//! a deadline ([`Pace::standing`]), which starts [`BODY_GRACE`] after the first body's headers
//! and moves on by `n /` [`BODY_BYTES_PER_S_MIN`] for every `n` bytes that arrive: over the
//! time its bodies are being received, a connection must average the minimum. Time a body
//! spends waiting for the source's own budget (the source not reading it) moves the deadline
//! on by as much: it is not held against it. A connection whose bodies are all whole
//! (answers being made) or that has none is never behind; its next body starts afresh.
//!
//! The minimum never refuses ordinary traffic: it matters only at a connection limit, and a
//! client sending a 4 MiB export within `requestTimeout` (30 s) sends 140 KiB/s, over a
//! hundred times the minimum.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Least rate a connection's request bodies arrive at while it keeps its slot against a
/// new connection at a limit.
pub(crate) const BODY_BYTES_PER_S_MIN: u64 = 1024;

/// Time from a body's headers before its first bytes are due.
pub(crate) const BODY_GRACE: Duration = Duration::from_secs(2);

/// The pace of one connection's request bodies.
#[derive(Debug)]
pub(crate) struct Pace {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Bodies being received.
    receiving: usize,
    /// Of them, bodies waiting for the source's budget.
    waiting: usize,
    /// More bytes are due by this time.
    due: Instant,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            state: Mutex::new(State {
                receiving: 0,
                waiting: 0,
                due: Instant::now(),
            }),
        }
    }
}

/// Where a connection's bodies stand against their pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Behind it by this much.
    Behind(Duration),
    /// On it, the pace counting for this long less the bytes' credit (the age of a body in
    /// its grace): a client's fresh body is younger than a flood's older ones.
    Within(Duration),
}

impl Pace {
    /// Where the bodies stand at `now`; `None` when none is being received, one waits for
    /// the source, or they are ahead of their pace by more than the grace.
    pub(crate) fn standing(&self, now: Instant) -> Option<Standing> {
        let s = self.state.lock();
        if s.receiving == 0 || s.waiting > 0 {
            return None;
        }
        if now > s.due {
            return Some(Standing::Behind(now.saturating_duration_since(s.due)));
        }
        let counting = (now + BODY_GRACE).saturating_duration_since(s.due);
        (!counting.is_zero()).then_some(Standing::Within(counting))
    }

    /// A body starts being received.
    pub(crate) fn receive(self: &Arc<Self>) -> Receiving {
        let mut s = self.state.lock();
        if s.receiving == 0 {
            s.due = s.due.max(Instant::now() + BODY_GRACE);
        }
        s.receiving += 1;
        drop(s);
        Receiving(self.clone())
    }
}

/// One body being received (it ends on drop).
#[derive(Debug)]
pub(crate) struct Receiving(Arc<Pace>);

impl Receiving {
    /// `n` bytes of the body arrived.
    pub(crate) fn arrived(&self, n: usize) {
        let credit =
            Duration::from_micros((n as u64).saturating_mul(1_000_000) / BODY_BYTES_PER_S_MIN);
        self.0.state.lock().due += credit;
    }

    /// The body waits for the source (its budget) until the guard drops; the wait is not
    /// held against it.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.0.state.lock().waiting += 1;
        Waiting {
            body: self,
            since: Instant::now(),
        }
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.receiving = s.receiving.saturating_sub(1);
    }
}

/// A body waiting for the source, since when.
#[derive(Debug)]
pub(crate) struct Waiting<'a> {
    body: &'a Receiving,
    since: Instant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.body.0.state.lock();
        s.waiting = s.waiting.saturating_sub(1);
        s.due += self.since.elapsed();
    }
}

/// The pace of the connection a request came on, as the serving path puts it in the
/// request's extensions (`http_serve`).
#[derive(Clone, Debug)]
pub(crate) struct ConnPace(pub(crate) Arc<Pace>);

/// A body of `req` starts being received, counted in its connection's pace (none for a
/// request that did not come through the serving path).
pub(crate) fn receiving<B>(req: &hyper::Request<B>) -> Option<Receiving> {
    req.extensions().get::<ConnPace>().map(|p| p.0.receive())
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Behind {
        fn behind(&self, now: Instant) -> Option<Duration>;
    }

    impl Behind for Pace {
        fn behind(&self, now: Instant) -> Option<Duration> {
            match self.standing(now)? {
                Standing::Behind(d) => Some(d),
                Standing::Within(_) => None,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_falls_behind_after_the_grace_unless_bytes_average_the_minimum_rate() {
        let pace = Arc::new(Pace::default());
        assert_eq!(pace.behind(Instant::now()), None, "no body");
        let body = pace.receive();
        tokio::time::advance(Duration::from_millis(500)).await;
        let young = Standing::Within(Duration::from_millis(500));
        assert_eq!(
            pace.standing(Instant::now()),
            Some(young),
            "its age in the grace"
        );
        tokio::time::advance(BODY_GRACE - Duration::from_millis(500)).await;
        assert_eq!(pace.behind(Instant::now()), None, "within the grace");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(pace.behind(Instant::now()), Some(Duration::from_secs(1)));
        // Three seconds of bytes at the minimum: two seconds ahead.
        body.arrived(3 * BODY_BYTES_PER_S_MIN as usize);
        assert_eq!(
            pace.standing(Instant::now()),
            None,
            "ahead by the grace: not closed"
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(pace.behind(Instant::now()), Some(Duration::from_secs(1)));
        {
            let _w = body.waiting();
            tokio::time::advance(Duration::from_secs(30)).await;
            assert_eq!(pace.behind(Instant::now()), None, "waiting for the source");
        }
        assert_eq!(
            pace.behind(Instant::now()),
            Some(Duration::from_secs(1)),
            "the wait is not held against it"
        );
        drop(body);
        assert_eq!(
            pace.standing(Instant::now()),
            None,
            "whole: answers are ours"
        );
        let next = pace.receive();
        assert_eq!(
            pace.behind(Instant::now()),
            None,
            "the next body starts afresh"
        );
        drop(next);
    }
}
