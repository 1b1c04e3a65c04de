//! One export request, whatever its transport: what its decode will cost (scan.rs,
//! json.rs) charged against the decode budget before it is decoded ([`Shared::charge_decode`]:
//! past the whole budget, [`Refusal::TooLarge`]); what its events will cost once mapped
//! (`agent::otlp::cost`: the resource's and scope's attributes counted once per record, as
//! the mapping copies them) charged against the in-flight budget **before** any event is
//! built, its records mapped to events (large requests on the blocking pool), the events put
//! through the channel processor in one call, and the answer: a response (with
//! `partial_success` when records were rejected) only after every required channel
//! committed; [`Refusal::TooLarge`] (gRPC `RESOURCE_EXHAUSTED`, HTTP 413) when the cost is
//! more than the whole budget (`maxInflightBytes`), which names both; or [`Refusal::Busy`]
//! (gRPC `UNAVAILABLE`, HTTP 503) when a channel did not take them or the in-flight budget
//! stayed taken.
//!
//! A `partial_success.error_message` names the first rejected record and why, then lists the
//! 0-based indexes of every rejected record after `INDEXES_MARK` (records counted across
//! the request's resources and scopes in order), so a Sluice sink dead-letters exactly those.

use std::sync::Arc;
use std::time::Instant;

use super::body::Bodies;
use super::config::OtlpSourceConfig;
use super::inflate::Inflaters;
use crate::agent::otlp::borrowed::ExportLogsServiceRequest;
use crate::agent::otlp::cost::{mapped_bytes, records};
use crate::agent::otlp::proto::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse, INDEXES_MARK,
};
use crate::agent::otlp::{request_events, Mapped};
use crate::agent::source::budget::{Budget, Held};
use crate::agent::source::decoders::Decoders;
use crate::agent::source::refusals::RefusalLog;
use crate::agent::source::rpc::put::Putter;
use crate::agent::source::SourceCtx;

/// What a source's requests share.
pub(super) struct Shared {
    pub(super) cfg: OtlpSourceConfig,
    pub(super) ctx: SourceCtx,
    /// What the events of requests in flight cost, from before their mapping to their
    /// commit (`maxInflightBytes`).
    pub(super) inflight: Budget,
    /// What decoding requests costs (the decoded structs: scan.rs, json.rs), from before
    /// their decode to the end of their mapping (`maxInflightBytes` too; never waited for
    /// while holding `inflight`, so the two waits close no cycle).
    pub(super) decoding: Budget,
    /// Bodies being received and held until answered, charged as read (`maxInflightBytes`
    /// too, at most half of it per peer address).
    pub(super) bodies: Arc<Bodies>,
    pub(super) decoders: Decoders,
    pub(super) inflaters: Inflaters,
    putter: Putter,
    /// Connections cut for abandoning their calls, logged at most 8 lines per 10 s.
    cuts: parking_lot::Mutex<RefusalLog>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("source", &self.ctx.name)
            .finish_non_exhaustive()
    }
}

/// Why a request was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The client should resend later (gRPC `UNAVAILABLE`, HTTP 503 with `Retry-After`).
    Busy(String),
    /// The request's events would cost more than the whole in-flight budget (gRPC
    /// `RESOURCE_EXHAUSTED`, HTTP 413); the reason names the limit and the cost.
    TooLarge(String),
}

impl Shared {
    pub(super) fn new(cfg: OtlpSourceConfig, ctx: SourceCtx) -> Self {
        Shared {
            inflight: Budget::new(cfg.max_inflight_bytes),
            decoding: Budget::new(cfg.max_inflight_bytes),
            bodies: Bodies::new(cfg.max_inflight_bytes),
            decoders: Decoders::default(),
            inflaters: Inflaters::default(),
            putter: Putter::of(&ctx, "otlp"),
            cuts: parking_lot::Mutex::new(RefusalLog::bad_input()),
            cfg,
            ctx,
        }
    }

    /// Logs (rate-limited) a connection cut for abandoning its calls: `(answered, abandoned)`.
    pub(super) fn cut(&self, peer: std::net::SocketAddr, (answered, abandoned): (u64, u64)) {
        if let Some(cut) = self.cuts.lock().refused(std::time::Instant::now()) {
            tracing::warn!(source = %self.ctx.name, %peer, answered, abandoned, cut, "connection closed: its peer reset more calls than it let finish (an HTTP/2 rapid-reset flood?)");
        }
    }

    /// Charges `cost` bytes (what decoding a body of `size` bytes `what` will allocate) to
    /// the decode budget before the decode: [`Refusal::TooLarge`] past all of it (no retry
    /// could fit it), [`Refusal::Busy`] while other decodes hold it past `deadline`.
    pub(super) async fn charge_decode(
        &self,
        cost: u64,
        size: usize,
        what: &str,
        deadline: Instant,
    ) -> Result<Held, Refusal> {
        let total = self.decoding.total();
        if cost > total {
            return Err(Refusal::TooLarge(format!(
                "the request's {size} bytes of {what} would take {cost} bytes to decode \
                 (each record, attribute and value is a struct of its own), more than \
                 maxInflightBytes ({total} bytes); send fewer records or attributes per request"
            )));
        }
        tokio::time::timeout_at(deadline.into(), self.decoding.acquire(cost))
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                Refusal::Busy("requests being decoded hold the source's maxInflightBytes".into())
            })
    }

    /// Maps and puts a decoded request of `size` bytes (its protobuf message, which the
    /// events' bodies slice), whose decode holds `decoded` until it is mapped; the response
    /// once every required channel committed.
    pub(super) async fn export(
        self: &Arc<Self>,
        req: ExportLogsServiceRequest,
        size: usize,
        decoded: Held,
        deadline: Instant,
    ) -> Result<ExportLogsServiceResponse, Refusal> {
        let mut stop = self.ctx.stop.clone();
        let (req, cost) = self
            .decoders
            .run(size, &mut stop, move || {
                let cost = mapped_bytes(&req, size);
                (req, cost)
            })
            .await
            .ok_or_else(|| Refusal::Busy("the source is stopping".into()))?;
        let total = self.inflight.total();
        if cost > total {
            let records = records(&req);
            return Err(Refusal::TooLarge(format!(
                "the request's {records} records would take {cost} bytes once decoded \
                 (resource and scope attributes are copied into each record's event; \
                 {size} bytes as sent), more than maxInflightBytes ({total} bytes); \
                 send fewer records per request"
            )));
        }
        let held = tokio::time::timeout_at(deadline.into(), self.inflight.acquire(cost))
            .await
            .ok()
            .flatten()
            .ok_or_else(|| {
                Refusal::Busy("requests in flight hold the source's maxInflightBytes".into())
            })?;
        let max = self.cfg.max_event_bytes;
        let mapped = self
            .decoders
            // Mapping work follows the events' cost, not the bytes sent.
            .run(
                usize::try_from(cost).unwrap_or(usize::MAX),
                &mut stop,
                move || request_events(req, max),
            )
            .await
            .ok_or_else(|| Refusal::Busy("the source is stopping".into()))?;
        drop(decoded);
        let response = response_for(&mapped);
        if let Some(p) = &response.partial_success {
            self.ctx.counters.add(
                crate::agent::metrics::SourceCounter::EventReadFail,
                p.rejected_log_records as u64,
            );
            tracing::warn!(source = %self.ctx.name, rejected = p.rejected_log_records, reason = %crate::agent::log_text::escape(&p.error_message), "log records rejected");
        }
        if !mapped.events.is_empty() && !self.putter.put(true, mapped.events).await {
            return Err(Refusal::Busy(
                "the channel did not take the records (it may be full); retry later".into(),
            ));
        }
        drop(held);
        Ok(response)
    }
}

/// The answer for a mapped request: `partial_success` set only when records were rejected.
pub(super) fn response_for(m: &Mapped) -> ExportLogsServiceResponse {
    let Some(first) = m.rejected.first() else {
        return ExportLogsServiceResponse::default();
    };
    let indexes: Vec<String> = m.rejected.iter().map(|r| r.index.to_string()).collect();
    ExportLogsServiceResponse {
        partial_success: Some(ExportLogsPartialSuccess {
            rejected_log_records: m.rejected.len() as i64,
            error_message: format!(
                "{} log record(s) rejected; the first, record {}: {}{INDEXES_MARK}{}",
                m.rejected.len(),
                first.index,
                first.reason,
                indexes.join(",")
            ),
        }),
    }
}
