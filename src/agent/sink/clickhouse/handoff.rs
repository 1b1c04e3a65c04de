//! A take's INSERT handed to the runner as its acknowledgements ([`Acks`]), so the next take
//! is read from the channel, encoded and read back while ClickHouse parses and writes this
//! one; the take commits only after its INSERT answered 200, in order (the runner's
//! [`crate::agent::sink::settle`]). Exactly once is unchanged (`exactly.rs`): the ceilings
//! are raised when the INSERT is handed over (a ceiling too high only looks up more ids by
//! their exact text; too low would resend), and a failed INSERT makes the next take wait out
//! the sink's running INSERTs and read back again (the runner rolls back the failed take and
//! every later one still pending).
//!
//! A refused row cannot be split off here (the runner asks for poison right after `deliver`):
//! the INSERT fails, the take comes again, and the sink sends the next [`SERIAL_AFTER_BAD`]
//! takes itself within `deliver`, where refused rows are split off and dead-lettered.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::client::{ChClient, ChError};
use super::{InsertRequest, Tally};
use crate::agent::failpoint;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::nats::DownSince;
use crate::agent::sink::{Acks, SinkError, SinkErrorKind};

/// Takes sent within `deliver` (one at a time) after a handed-over INSERT was refused for a
/// row's value, so the refused rows are split off there.
pub(super) const SERIAL_AFTER_BAD: u32 = 32;

/// How the last handed-over INSERTs ended, as the next `deliver` reads it.
#[derive(Clone, Debug, Default)]
pub(super) struct Outcome(Arc<AtomicU8>);

/// What [`Outcome::take`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// Nothing failed since the last look.
    Fine,
    /// An INSERT failed: its outcome may be unknown.
    Failed,
    /// An INSERT was refused for a row's value (certainly not run).
    BadRow,
}

impl Outcome {
    fn set(&self, e: Ended) {
        let v = match e {
            Ended::Fine => 0,
            Ended::Failed => 1,
            Ended::BadRow => 2,
        };
        self.0.fetch_max(v, Ordering::AcqRel);
    }

    /// What ended badly since the last call (the worst of it), and forgets it.
    pub(super) fn take(&self) -> Ended {
        match self.0.swap(0, Ordering::AcqRel) {
            0 => Ended::Fine,
            2 => Ended::BadRow,
            _ => Ended::Failed,
        }
    }
}

/// What a handed-over INSERT needs of its sink.
pub(super) struct HandOff {
    pub name: String,
    pub client: ChClient,
    pub tally: Arc<Tally>,
    pub down: DownSince,
    pub counters: Option<Arc<CounterGroup>>,
    pub outcome: Outcome,
    pub bufs: super::pool::BufPool,
    /// The agent's count of unknown outcomes into this table ([`super::shared`]), raised
    /// before the runner rolls the take back, so another sink that takes it reads back.
    pub unknowns: super::shared::Unknowns,
}

impl HandOff {
    /// The acknowledgements of `req`: sends it, answers `Ok` once ClickHouse stored it.
    pub(super) fn send(self, req: InsertRequest) -> Acks {
        Acks(Box::pin(async move {
            let HandOff {
                name,
                mut client,
                tally,
                down,
                counters,
                outcome,
                bufs,
                unknowns,
            } = self;
            let params = req.params();
            let sent = client.query(&req.sql, &params, Some(&req.body)).await;
            drop(params);
            let (rows, bytes) = (req.rows, req.body.len());
            bufs.give(req.body);
            match sent {
                Ok(_) => {
                    down.up();
                    tally.inserted(rows, bytes);
                    failpoint::hold(failpoint::CLICKHOUSE_SINK_INSERTED).await;
                    Ok(())
                }
                Err(e) => {
                    let bad_row = matches!(&e, ChError::Server { code, message, .. } if super::rows::bad_value(*code, message));
                    outcome.set(if bad_row {
                        Ended::BadRow
                    } else {
                        Ended::Failed
                    });
                    unknowns.add();
                    let kind = match &e {
                        ChError::Connect { .. } => {
                            if let Some(c) = &counters {
                                c.add(SinkCounter::ConnectionFailed, 1);
                            }
                            SinkErrorKind::Connect
                        }
                        ChError::NoAnswer { .. } => SinkErrorKind::Timeout,
                        _ => SinkErrorKind::Peer,
                    };
                    if !bad_row {
                        down.down_because(&e);
                    }
                    Err(SinkError::new(name, kind, e.to_string()))
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_ending_is_kept_until_read() {
        let o = Outcome::default();
        assert_eq!(o.take(), Ended::Fine);
        o.set(Ended::Failed);
        o.set(Ended::BadRow);
        o.set(Ended::Failed);
        assert_eq!(o.take(), Ended::BadRow);
        assert_eq!(o.take(), Ended::Fine);
    }
}
