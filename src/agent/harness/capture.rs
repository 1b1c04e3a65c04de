//! A channel that keeps every committed put, in order, for `sluice test`: the channel
//! processor writes into it exactly as into a real channel (one transaction per batch).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::agent::channel::{AgentChannel, AgentChannelError, BoxFuture, ChannelTx};
use crate::agent::metrics::CounterGroup;
use sluice_core::Event;

/// The capturing channel.
#[derive(Debug)]
pub(crate) struct CaptureChannel {
    events: Arc<Mutex<Vec<Event>>>,
    counters: Arc<CounterGroup>,
}

impl Default for CaptureChannel {
    fn default() -> Self {
        CaptureChannel {
            events: Arc::default(),
            counters: CounterGroup::channel(),
        }
    }
}

impl CaptureChannel {
    /// The committed events so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.lock().clone()
    }
}

struct CaptureTx {
    events: Arc<Mutex<Vec<Event>>>,
    puts: Vec<Event>,
}

impl ChannelTx for CaptureTx {
    fn put_all(&mut self, events: Vec<Event>) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        self.puts.extend(events);
        Box::pin(async { Ok(()) })
    }

    fn take_up_to(&mut self, _max: usize) -> BoxFuture<'_, Result<Vec<Event>, AgentChannelError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), AgentChannelError>> {
        self.events.lock().extend(self.puts);
        Box::pin(async { Ok(()) })
    }

    fn rollback(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl AgentChannel for CaptureChannel {
    fn begin(&self) -> Box<dyn ChannelTx> {
        Box::new(CaptureTx {
            events: self.events.clone(),
            puts: Vec::new(),
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AgentChannelError>> {
        Box::pin(async { Ok(()) })
    }

    fn counters(&self) -> Arc<CounterGroup> {
        self.counters.clone()
    }
}
