//! Takes that never block: [`Transaction::take_cached`] takes the next event only when the
//! queue's lock is free and the event cache holds it, so an async caller can take a batch on
//! its own thread and go to a blocking thread only for what must be read from a log file.

use std::sync::atomic::Ordering;

use super::Transaction;
use crate::channel::error::ChannelError;
use crate::event::Event;

/// What [`Transaction::take_cached`] found.
#[derive(Debug)]
pub enum Cached {
    /// The next event, taken.
    Event(Event),
    /// The queue is empty.
    Empty,
    /// Nothing taken: the next event must be read from its log file, or the queue's lock is
    /// held (a commit applying, a checkpoint capturing). [`Transaction::take`] gets it.
    Later,
}

impl Transaction {
    /// Takes the oldest committed event if that needs neither a wait for the queue's lock nor
    /// a file read; the same event [`take`](Self::take) would return otherwise. The
    /// transaction's capacity bounds it as it bounds `take`.
    pub fn take_cached(&mut self) -> Result<Cached, ChannelError> {
        let inner = &*self.inner;
        if let Err(e) = inner.check_open() {
            inner.counters.take_errors.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        let cap = inner.config.transaction_capacity;
        if self.takes.len() as u64 >= cap {
            return Err(ChannelError::TransactionFull {
                event: None,
                capacity: cap,
            });
        }
        let Some(mut st) = inner.state.try_lock() else {
            return Ok(Cached::Later);
        };
        let Some((seq, _)) = st.ready().first() else {
            drop(st);
            inner
                .events
                .caught_up(inner.seq_next.load(Ordering::SeqCst));
            return Ok(Cached::Empty);
        };
        // The queue's lock is held, so `seq` stays first; the cache's lock nests inside it
        // (nothing takes them the other way round).
        let Some(event) = inner.events.take_held(seq) else {
            return Ok(Cached::Later);
        };
        let entry = st.take(self.txid);
        drop(st);
        debug_assert_eq!(entry.map(|(s, _)| s), Some(seq));
        if let Some(entry) = entry {
            super::note_take(&mut self.takes, &mut self.readahead, cap, entry);
        }
        Ok(Cached::Event(event))
    }
}
