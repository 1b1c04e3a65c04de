//! Group commits across [`ChannelTx`]s: a channel finds its own transactions behind the boxes
//! ([`AnyTx`], [`group_of`]) to commit them as one group; [`commit_in_order`] is the default
//! for any other channel.

use std::any::Any;

use super::{AgentChannelError, ChannelTx};

/// Lets a channel find its own transaction type behind a `Box<dyn ChannelTx>`
/// ([`AgentChannel::commit_group`]); every sized `Send + 'static` type has it.
pub trait AnyTx: Send {
    /// The transaction, to be downcast.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
    /// The transaction, to ask its type.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Send + 'static> AnyTx for T {
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Whether every one of `txs` is a `T` ([`group_of`] then unwraps them).
pub(crate) fn all_are<T: 'static>(txs: &[Box<dyn ChannelTx>]) -> bool {
    // `(**t)`: the box itself is `AnyTx` too (every sized type is), and would answer `false`.
    txs.iter().all(|t| (**t).as_any().is::<T>())
}

/// `txs` as `T`s, or `None` (all of them handed back) when one is not a `T`.
pub(crate) fn group_of<T: 'static>(
    txs: Vec<Box<dyn ChannelTx>>,
) -> Result<Vec<T>, Vec<Box<dyn ChannelTx>>> {
    if !all_are::<T>(txs.as_slice()) {
        return Err(txs);
    }
    Ok(txs
        .into_iter()
        .filter_map(|t| t.into_any().downcast::<T>().ok().map(|b| *b))
        .collect())
}

/// Commits `txs` one after another, in order; after the first failure the rest roll back
/// ([`AgentChannelError::GroupCut`]): what commits is a prefix of the group. The default
/// [`AgentChannel::commit_group`].
pub async fn commit_in_order(txs: Vec<Box<dyn ChannelTx>>) -> Vec<Result<(), AgentChannelError>> {
    let total = txs.len();
    let mut out = Vec::with_capacity(total);
    for (i, tx) in txs.into_iter().enumerate() {
        if out.iter().any(Result::is_err) {
            tx.rollback().await;
            out.push(Err(AgentChannelError::GroupCut {
                position: i + 1,
                total,
            }));
        } else {
            out.push(tx.commit().await);
        }
    }
    out
}
