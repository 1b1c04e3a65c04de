//! An RPC sink's calls: one `appendBatch` per batch, answered before [`RpcSink::deliver`]
//! returns, or, with several calls in flight, its answer handed to the runner as the
//! batch's [`Acks`]; every wait watches the stop signal and gives a call [`STOP_GRACE`].

use super::failure::{stopping, Call, CallFailed};
use super::{Answer, RpcClient, RpcSink, STOP_GRACE};
use crate::agent::sink::{Acks, SinkError, SinkErrorKind};
use crate::agent::stop::Stop;
use sluice_core::Event;

impl<C: RpcClient> RpcSink<C> {
    /// Sends `events` in one `appendBatch`; `Ok` only when the downstream answered `OK`.
    /// Not cancel safe (the batch may or may not have been delivered): on any error the
    /// connection is dropped and the caller must roll the take back.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(client) = self.client.as_mut() else {
            let why = format!("not connected to {}", self.addr);
            return Err(self.err(SinkErrorKind::Connect, why));
        };
        let result: Result<(), CallFailed> = {
            let call = client.append_batch(events);
            tokio::pin!(call);
            match self.stop.clone() {
                Some(mut stop) => tokio::select! {
                    r = &mut call => r.map_err(CallFailed::from),
                    _ = stop.wait() => match tokio::time::timeout(STOP_GRACE, &mut call).await {
                        Ok(r) => r.map_err(CallFailed::from),
                        Err(_) => Err(stopping()),
                    },
                },
                None => call.await.map_err(CallFailed::from),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(source) => {
                self.failed("call failed");
                let what = format!("appendBatch of {} events to {}", events.len(), self.addr);
                Err(Call { what, source }.into_sink_error(self.name.clone()))
            }
        }
    }

    /// Sends `events` in one `appendBatch`, its answer left to come when the connection
    /// keeps several calls in flight (it is then in [`Self::take_acks`]); as
    /// [`Self::deliver`] otherwise.
    pub async fn send(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let Some(client) = self.client.as_mut().filter(|c| c.pipelined()) else {
            return self.deliver(events).await;
        };
        let what = format!("appendBatch of {} events to {}", events.len(), self.addr);
        match client.send_batch(events).await {
            Ok(answer) => {
                let (sink, stop) = (self.name.clone(), self.stop.clone());
                self.acks = Some(Acks(Box::pin(async move {
                    answered(answer, stop)
                        .await
                        .map_err(|source| Call { what, source }.into_sink_error(sink))
                })));
                Ok(())
            }
            Err(e) => {
                self.failed("call failed");
                let source = CallFailed::Rpc(e);
                Err(Call { what, source }.into_sink_error(self.name.clone()))
            }
        }
    }

    /// The answer still to come for the batch the last [`Self::send`] sent, if any.
    pub fn take_acks(&mut self) -> Option<Acks> {
        self.acks.take()
    }
}

/// Waits for `answer`; after the stop signal, [`STOP_GRACE`] more.
async fn answered(mut answer: Answer, stop: Option<Stop>) -> Result<(), CallFailed> {
    let Some(mut stop) = stop else {
        return Ok(answer.await?);
    };
    tokio::select! {
        r = &mut answer => Ok(r?),
        _ = stop.wait() => match tokio::time::timeout(STOP_GRACE, &mut answer).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(stopping()),
        },
    }
}
