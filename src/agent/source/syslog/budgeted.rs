//! A syslog TCP connection's reads under its source's byte budget (conn.rs): before a read it
//! holds what it would then keep; when the budget is spent it first gives its grown read
//! buffer and framer memory back, then waits.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::frame::Framer;
use crate::agent::source::budget::{self, Budget, Held};
use crate::agent::source::read_buf::ReadBuf;

/// Holds `need` bytes of `budget` in `held` (waiting for what is missing). Cancel safe: a
/// cancelled wait holds nothing more.
pub(super) async fn reserve(held: &mut Option<Held>, budget: &Budget, need: u64) {
    let have = budget::bytes(held);
    if need > have {
        if let Some(more) = budget.acquire(need - have).await {
            budget::grow(held, more);
        }
    }
}

/// Holds what a read into `chunk` needs: `need` bytes with the buffers as they are if they
/// are free now, else (the budget is spent) `chunk` and `framer` give their spare memory back
/// first and the wait is for what the smaller buffers need. Cancel safe as [`reserve`].
pub(super) async fn reserve_read(
    held: &mut Option<Held>,
    budget: &Budget,
    need: u64,
    chunk: &mut ReadBuf,
    framer: &mut Framer,
) {
    let have = budget::bytes(held);
    if need <= have {
        return;
    }
    if let Some(more) = budget.try_acquire(need - have) {
        budget::grow(held, more);
        return;
    }
    let before = chunk.capacity() + framer.capacity();
    chunk.shrink();
    framer.shrink();
    let freed = before.saturating_sub(chunk.capacity() + framer.capacity());
    reserve(held, budget, need.saturating_sub(freed as u64)).await;
}

/// Reads into `chunk` once `need` bytes of the budget are held ([`reserve_read`]).
pub(super) async fn budgeted_read<S: AsyncRead + Unpin>(
    held: &mut Option<Held>,
    budget: &Budget,
    need: u64,
    stream: &mut S,
    chunk: &mut ReadBuf,
    framer: &mut Framer,
) -> std::io::Result<usize> {
    reserve_read(held, budget, need, chunk, framer).await;
    stream.read(chunk.space()).await
}
