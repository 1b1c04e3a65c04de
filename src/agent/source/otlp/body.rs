//! Request bodies being received, both transports: each frame's bytes are charged against the
//! source's body budget (`maxInflightBytes`) **before** the frame is kept, so bodies held by
//! stalled or slow writers never pass the budget (a writer past it waits, unread, until the
//! budget frees or `requestTimeout`); and one peer address may hold at most
//! 1/[`PEER_SHARE_DIVISOR`] of the budget (bytes it waits for included), so a peer filling the
//! budget with bodies it never finishes leaves the rest to the others. The bytes stay charged
//! until the request was answered (its events hold slices of them).
//!
//! A body is read within its deadline (`requestTimeout` from the request's headers) and up to
//! a maximum (`maxRequestBytes`, plus a gRPC message's 5-byte prefix). Its bytes count in its
//! connection's pace as they arrive (`source/body_pace.rs`; the wait for the budget does not),
//! so a connection whose bodies trickle is the first closed for a new one at a limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::agent::source::body_pace::Receiving;
use crate::agent::source::budget::{self, Budget, Held};

/// One peer address may hold at most 1/this of the body budget.
pub const PEER_SHARE_DIVISOR: u64 = 2;

/// The body budget of one source, and what each peer address holds of it.
#[derive(Debug)]
pub(super) struct Bodies {
    budget: Budget,
    share: u64,
    peers: Mutex<HashMap<IpAddr, u64>>,
}

/// Why a body was not received.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// More than the maximum.
    #[error("the request body exceeds maxRequestBytes ({0} bytes)")]
    TooLarge(usize),
    /// Not whole by the deadline.
    #[error("request body not received within requestTimeout")]
    TimedOut,
    /// The budget stayed taken until the deadline.
    #[error("requests being received hold the source's maxInflightBytes; retry later")]
    Busy,
    /// The peer's bodies hold its share of the budget.
    #[error("this peer's requests being received hold {0} bytes, its share of maxInflightBytes; retry later")]
    PeerShare(u64),
    /// The body failed (a reset stream, a closed connection).
    #[error("cannot read the request body: {0}")]
    Failed(String),
}

impl Bodies {
    /// A budget of `total` bytes.
    pub(super) fn new(total: u64) -> Arc<Self> {
        let budget = Budget::new(total);
        let share = (budget.total() / PEER_SHARE_DIVISOR).max(1);
        Arc::new(Bodies {
            budget,
            share,
            peers: Mutex::default(),
        })
    }

    /// Nothing charged yet for a body of `peer`.
    pub(super) fn charge_for(self: &Arc<Self>, peer: IpAddr) -> Charged {
        Charged {
            bodies: self.clone(),
            peer,
            peer_bytes: 0,
            held: None,
        }
    }
}

/// The bytes charged for one request's body (given back on drop).
#[derive(Debug)]
pub(super) struct Charged {
    bodies: Arc<Bodies>,
    peer: IpAddr,
    peer_bytes: u64,
    held: Option<Held>,
}

impl Charged {
    /// Charges `n` more bytes: at once past the peer's share, else waiting for the budget
    /// until `deadline` (not held against the body's `pace`). Cancel safe: bytes counted for
    /// the peer are given back on drop.
    async fn charge(
        &mut self,
        n: u64,
        deadline: Instant,
        pace: Option<&Receiving>,
    ) -> Result<(), BodyError> {
        {
            let mut peers = self.bodies.peers.lock();
            let held = peers.entry(self.peer).or_insert(0);
            if *held + n > self.bodies.share {
                let now = *held;
                if now == 0 {
                    peers.remove(&self.peer);
                }
                return Err(BodyError::PeerShare(now));
            }
            *held += n;
            self.peer_bytes += n;
        }
        let waiting = pace.map(Receiving::waiting);
        let acquired = tokio::time::timeout_at(deadline, self.bodies.budget.acquire(n)).await;
        drop(waiting);
        match acquired {
            Ok(Some(h)) => {
                budget::grow(&mut self.held, h);
                Ok(())
            }
            _ => Err(BodyError::Busy),
        }
    }

    /// Bytes charged.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> u64 {
        budget::bytes(&self.held)
    }
}

impl Drop for Charged {
    fn drop(&mut self) {
        if self.peer_bytes == 0 {
            return;
        }
        let mut peers = self.bodies.peers.lock();
        if let Some(held) = peers.get_mut(&self.peer) {
            *held = held.saturating_sub(self.peer_bytes);
            if *held == 0 {
                peers.remove(&self.peer);
            }
        }
    }
}

/// The whole of `body`, at most `max` bytes, each frame counted in `pace` as it arrives and
/// charged to `charged` before it is kept, all by `deadline`.
pub(super) async fn read<B>(
    body: B,
    max: usize,
    (charged, pace): (&mut Charged, Option<Receiving>),
    deadline: Instant,
) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    tokio::pin!(body);
    let mut frames: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Failed(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        if let Some(p) = &pace {
            p.arrived(data.len());
        }
        len += data.len();
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
        charged
            .charge(data.len() as u64, deadline, pace.as_ref())
            .await?;
        frames.push(data);
    }
    Ok(match frames.len() {
        0 => Bytes::new(),
        1 => frames.pop().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(len);
            frames.iter().for_each(|f| all.extend_from_slice(f));
            all.freeze()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    fn peer(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[tokio::test]
    async fn a_peer_holds_at_most_its_share_and_another_peer_gets_the_rest() {
        let bodies = Bodies::new(1000);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut first = bodies.charge_for(peer(2));
        let body = Full::new(Bytes::from(vec![1u8; 500]));
        let got = read(body, 10_000, (&mut first, None), deadline)
            .await
            .unwrap();
        assert_eq!((got.len(), first.bytes()), (500, 500));
        let mut second = bodies.charge_for(peer(2));
        let more = read(
            Full::new(Bytes::from(vec![1u8; 1])),
            10_000,
            (&mut second, None),
            deadline,
        );
        assert!(matches!(more.await, Err(BodyError::PeerShare(500))));
        let mut other = bodies.charge_for(peer(3));
        let theirs = read(
            Full::new(Bytes::from(vec![1u8; 500])),
            10_000,
            (&mut other, None),
            deadline,
        );
        assert_eq!(theirs.await.unwrap().len(), 500);
        drop((first, second));
        assert!(bodies.peers.lock().get(&peer(2)).is_none());
    }

    #[tokio::test]
    async fn frames_are_joined_and_a_body_past_the_maximum_is_refused() {
        let bodies = Bodies::new(1 << 20);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let frames = |n: usize| {
            let f = (0..n).map(|i| {
                Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::from(vec![
                    i as u8;
                    10
                ])))
            });
            StreamBody::new(futures::stream::iter(f.collect::<Vec<_>>()))
        };
        let mut c = bodies.charge_for(peer(2));
        let got = read(frames(3), 30, (&mut c, None), deadline).await.unwrap();
        assert_eq!(&got[..], &[[0u8; 10], [1; 10], [2; 10]].concat()[..]);
        let mut c = bodies.charge_for(peer(2));
        assert!(matches!(
            read(frames(4), 30, (&mut c, None), deadline).await,
            Err(BodyError::TooLarge(30))
        ));
    }
}
