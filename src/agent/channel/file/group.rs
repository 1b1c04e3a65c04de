//! The file channel's group commit for the agent ([`AgentChannel::commit_group`]): the
//! transactions of a group are committed on one blocking thread with
//! [`Transaction::commit_all`], every one written before one fdatasync covers them all.
//!
//! [`AgentChannel::commit_group`]: crate::agent::channel::AgentChannel::commit_group

use sluice_core::{Event, Transaction};

use super::{map_err, put_all, FileChannelAdapter, FileTx};
use crate::agent::channel::contract::{commit_in_order, group_of};
use crate::agent::channel::{AgentChannelError, BoxFuture, ChannelTx, Refused};
use crate::agent::metrics::ChannelCounter;

impl FileChannelAdapter {
    /// Commits `txs` as one group on the blocking pool (one fdatasync where they share a
    /// data directory); any that is not this channel's commits one by one instead.
    pub(super) fn group(
        &self,
        txs: Vec<Box<dyn ChannelTx>>,
    ) -> BoxFuture<'_, Vec<Result<(), AgentChannelError>>> {
        Box::pin(async move {
            let txs = match group_of::<FileTx>(txs) {
                Ok(t) => t,
                Err(txs) => return commit_in_order(txs).await,
            };
            let total = txs.len();
            let mut counts = Vec::with_capacity(total);
            let mut core = Vec::with_capacity(total);
            for mut t in txs {
                counts.push((t.puts, t.takes));
                // `None` only after a blocking task failed: that one and the rest are cut.
                match t.tx.take() {
                    Some(tx) if core.len() == counts.len() - 1 => core.push(tx),
                    _ => {}
                }
            }
            let staged = core.len();
            let span = tracing::Span::current();
            let commit = move || span.in_scope(|| Transaction::commit_all(core));
            let results = match tokio::task::spawn_blocking(commit).await {
                Ok(r) => r,
                Err(_) => return (0..total).map(|_| Err(self.join_error())).collect(),
            };
            let mut out: Vec<Result<(), AgentChannelError>> = results
                .into_iter()
                .zip(&counts)
                .map(|(r, &(puts, takes))| {
                    r.map(|()| {
                        self.counters.add(ChannelCounter::PutSuccess, puts);
                        self.counters.add(ChannelCounter::TakeSuccess, takes);
                    })
                    .map_err(|e| map_err(&self.name, e))
                })
                .collect();
            if staged < total {
                out.push(Err(self.join_error()));
                out.extend(
                    (staged + 2..=total)
                        .map(|position| Err(AgentChannelError::GroupCut { position, total })),
                );
            }
            out
        })
    }

    /// Puts each of `batches` in a transaction of its own and commits them as one group
    /// on the calling thread (the runtime's blocking pool): a prefix of them commits; every
    /// other batch is handed back whole, in order.
    pub(super) fn put_group_here(&self, batches: Vec<Vec<Event>>) -> Vec<Result<(), Refused>> {
        let total = batches.len();
        let mut txs = Vec::with_capacity(total);
        let mut counts = Vec::with_capacity(total);
        let mut refused = None;
        let mut rest = batches.into_iter();
        for batch in rest.by_ref() {
            let n = batch.len() as u64;
            self.counters.add(ChannelCounter::PutAttempt, n);
            match put_all(self.channel.transaction(), batch) {
                Ok(tx) => {
                    txs.push(tx);
                    counts.push(n);
                }
                Err((e, back)) => {
                    refused = Some(Refused::with(map_err(&self.name, e), back));
                    break;
                }
            }
        }
        let mut out: Vec<Result<(), Refused>> = Transaction::commit_all_returning(txs)
            .into_iter()
            .zip(&counts)
            .map(|(r, &n)| {
                r.map(|()| self.counters.add(ChannelCounter::PutSuccess, n))
                    .map_err(|f| Refused::with(map_err(&self.name, f.error), f.puts))
            })
            .collect();
        if let Some(r) = refused {
            out.push(Err(r));
            let cut_from = out.len() + 1;
            out.extend((cut_from..=total).zip(rest).map(|(position, batch)| {
                Err(Refused::with(
                    AgentChannelError::GroupCut { position, total },
                    batch,
                ))
            }));
        }
        out
    }

    pub(super) fn join_error(&self) -> AgentChannelError {
        AgentChannelError::Join(self.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::agent::channel::AgentChannel;
    use sluice_core::FileChannelConfig;

    use super::super::open_for_test as channel;

    fn batch(tag: usize, n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event::new(format!("{tag}-{i:02}")))
            .collect()
    }

    /// The bodies (the channel adds its event ids to the headers).
    fn bodies(events: &[Event]) -> Vec<bytes::Bytes> {
        events.iter().map(|e| e.body.clone()).collect()
    }

    fn fsyncs(ch: &Arc<dyn AgentChannel>) -> u64 {
        ch.file_stats().unwrap().fsyncs
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn four_take_transactions_commit_as_one_group_with_one_fdatasync() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path()).await;
        crate::agent::channel::put_batch(ch.as_ref(), batch(0, 40))
            .await
            .unwrap();
        let mut txs = Vec::new();
        for _ in 0..4 {
            let mut tx = ch.begin();
            assert_eq!(tx.take_up_to(10).await.unwrap().len(), 10);
            txs.push(tx);
        }
        let before = fsyncs(&ch);
        let results = ch.commit_group(txs).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        // Through the agent's wrapper: the group reaches the file channel as one (one
        // committed one by one would take four).
        assert_eq!(fsyncs(&ch) - before, 1);
        assert_eq!(ch.file_stats().unwrap().queued, 0);
        let take = ch.counters().get("EventTakeSuccessCount");
        assert_eq!(take, 40, "each committed take counted");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_put_as_one_group_take_one_fdatasync_and_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path()).await;
        let c = ch.blocking_put().unwrap();
        let before = fsyncs(&ch);
        let results = tokio::task::spawn_blocking(move || {
            c.put_group_blocking((0..4).map(|g| batch(g, 25)).collect())
        })
        .await
        .unwrap();
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(fsyncs(&ch) - before, 1);
        let mut tx = ch.begin();
        let got: Vec<Event> = tx.take_up_to(1000).await.unwrap();
        tx.commit().await.unwrap();
        let want: Vec<Event> = (0..4).flat_map(|g| batch(g, 25)).collect();
        assert_eq!(bodies(&got), bodies(&want));
        assert_eq!(ch.counters().get("EventPutSuccessCount"), 100);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_over_its_capacity_commits_its_prefix_and_cuts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg =
            FileChannelConfig::with_dirs(dir.path().join("ck"), vec![dir.path().join("data")]);
        cfg.capacity = 60;
        cfg.transaction_capacity = 25;
        cfg.keep_alive = std::time::Duration::ZERO;
        let ch: Arc<dyn AgentChannel> =
            Arc::new(FileChannelAdapter::open("c1", cfg).await.unwrap());
        let c = ch.blocking_put().unwrap();
        let results = tokio::task::spawn_blocking(move || {
            c.put_group_blocking((0..4).map(|g| batch(g, 25)).collect())
        })
        .await
        .unwrap();
        assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
        let refused: Vec<&Refused> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            matches!(
                refused.as_slice(),
                [
                    Refused {
                        error: AgentChannelError::Full { .. },
                        ..
                    },
                    Refused {
                        error: AgentChannelError::GroupCut {
                            position: 4,
                            total: 4
                        },
                        ..
                    }
                ]
            ),
            "{results:?}"
        );
        // Both come back whole, in order: nothing of them stays in the channel.
        for (r, g) in refused.iter().zip(2..) {
            assert_eq!(
                Some(bodies(&r.events)),
                Some(bodies(&batch(g, 25))),
                "batch {g} handed back"
            );
        }
        let mut got = Vec::new();
        for _ in 0..3 {
            let mut tx = ch.begin();
            got.extend(tx.take_up_to(25).await.unwrap());
            tx.commit().await.unwrap();
        }
        let want: Vec<Event> = (0..2).flat_map(|g| batch(g, 25)).collect();
        assert_eq!(
            bodies(&got),
            bodies(&want),
            "the first two batches, nothing of the third"
        );
    }
}
