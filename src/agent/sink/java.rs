//! The agent's side of a Java sink: each Java `Transaction` is one Sluice take transaction,
//! opened by its first TAKE. TAKE answers the events taken (an empty transaction waits up to
//! [`EMPTY_TAKE_WAIT`] for some, so a plugin that spins on `take()` does not spin the agent);
//! COMMIT puts back the events the plugin was sent but did not take (in the same transaction,
//! atomically with the takes, when `transactionCapacity` leaves room; else in a transaction of
//! their own committed just before) and commits; ROLLBACK returns every taken event to the head
//! of the channel in order. A JVM that ends or is killed leaves its transaction rolled back.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use sluice_core::Event;

use crate::agent::channel::{AgentChannel, BoxFuture, ChannelTx};
use crate::agent::java::counts::Counts;
use crate::agent::java::frame::{
    encode_taken, encode_to_jvm, FromJvm, GroupCounts, Role, Status, ToJvm,
};
use crate::agent::java::session::{Serve, Spec};
use crate::agent::java::supervise::supervise;
use crate::agent::metrics::{CounterGroup, SinkCounter};
use crate::agent::stop::Stop;

/// Most events one TAKE answers (the shim asks for at most as many).
pub(crate) const TAKE_MAX: usize = 10_000;
/// How long a TAKE in a transaction that has taken nothing waits for an event.
pub(crate) const EMPTY_TAKE_WAIT: Duration = Duration::from_millis(100);
/// How often an empty channel is looked at again while waiting.
const EMPTY_TAKE_POLL: Duration = Duration::from_millis(10);

struct SinkServe {
    channel: Arc<dyn AgentChannel>,
    counts: Counts,
    tx: Option<Box<dyn ChannelTx>>,
    /// The events of the last TAKE answer (the plugin's unused ones are its tail).
    last: Vec<Event>,
    taken: usize,
    /// The channel's `transactionCapacity`: fetch-ahead never takes more in one transaction.
    tx_capacity: usize,
}

fn done(status: Status, message: String) -> Option<Vec<u8>> {
    Some(encode_to_jvm(&ToJvm::TxDone(status, message)))
}

impl SinkServe {
    async fn take(&mut self, want: u32) -> Option<Vec<u8>> {
        let room = self.tx_capacity.saturating_sub(self.taken);
        if room == 0 {
            let m = format!(
                "the take list of {} events is full; commit more often or raise the channel's transactionCapacity",
                self.tx_capacity
            );
            return done(Status::Error, m);
        }
        let want = (want as usize).clamp(1, TAKE_MAX).min(room);
        let tx = self.tx.get_or_insert_with(|| self.channel.begin());
        let deadline = tokio::time::Instant::now() + EMPTY_TAKE_WAIT;
        let got = loop {
            match tx.take_up_to(want).await {
                Ok(got) if got.is_empty() && self.taken == 0 => {
                    if tokio::time::Instant::now() >= deadline {
                        break got;
                    }
                    tokio::time::sleep(EMPTY_TAKE_POLL).await;
                }
                Ok(got) => break got,
                Err(e) => {
                    self.counts.own(SinkCounter::ChannelReadFail, 1);
                    if let Some(tx) = self.tx.take() {
                        tx.rollback().await;
                    }
                    return done(Status::Error, e.to_string());
                }
            }
        };
        self.taken += got.len();
        self.counts
            .own(SinkCounter::EventDrainAttempt, got.len() as u64);
        let frame = encode_taken(&got);
        self.last = got;
        Some(frame)
    }

    async fn commit(&mut self, unused: u32) -> Option<Vec<u8>> {
        let Some(mut tx) = self.tx.take() else {
            return done(Status::Ok, String::new());
        };
        let unused = unused as usize;
        let taken = std::mem::replace(&mut self.taken, 0);
        let last = std::mem::take(&mut self.last);
        if unused > last.len() {
            tx.rollback().await;
            let m = format!(
                "{unused} unused events, but the last take sent {}",
                last.len()
            );
            return done(Status::Error, m);
        }
        if unused > 0 {
            let back = last[last.len() - unused..].to_vec();
            // In the same transaction when it has room (atomic with the takes); else in one
            // of their own, committed first: a crash between the two commits leaves the
            // unused events twice (at least once), never none.
            let put = if taken + unused <= self.tx_capacity {
                tx.put_all(back).await
            } else {
                let mut own = self.channel.begin();
                match own.put_all(back).await {
                    Ok(()) => own.commit().await,
                    Err(e) => {
                        own.rollback().await;
                        Err(e)
                    }
                }
            };
            if let Err(e) = put {
                tx.rollback().await;
                return done(
                    Status::Error,
                    format!("putting back {unused} events fetched ahead: {e}"),
                );
            }
        }
        match tx.commit().await {
            Ok(()) => {
                let n = taken.saturating_sub(unused) as u64;
                self.counts.own(SinkCounter::EventDrainSuccess, n);
                done(Status::Ok, String::new())
            }
            Err(e) => done(Status::Error, e.to_string()),
        }
    }
}

impl Serve for SinkServe {
    fn handle(&mut self, msg: FromJvm) -> BoxFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            match msg {
                FromJvm::Take(n) => self.take(n).await,
                FromJvm::Commit(unused) => self.commit(unused).await,
                FromJvm::Rollback => {
                    self.taken = 0;
                    self.last.clear();
                    if let Some(tx) = self.tx.take() {
                        tx.rollback().await;
                    }
                    done(Status::Ok, String::new())
                }
                FromJvm::Put(_) => Some(encode_to_jvm(&ToJvm::PutDone(
                    Status::Error,
                    "a sink's channel does not accept puts".into(),
                ))),
                FromJvm::Ack(..)
                | FromJvm::Counters(_)
                | FromJvm::Failed(_)
                | FromJvm::Intercepted(_)
                | FromJvm::Written(_)
                | FromJvm::Selected(_)
                | FromJvm::Threw(_)
                | FromJvm::Process(_) => None,
            }
        })
    }

    fn counts(&mut self, groups: Vec<GroupCounts>) {
        self.counts.reported(groups);
    }

    fn abandon(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.last.clear();
            self.taken = 0;
            if let Some(tx) = self.tx.take() {
                tx.rollback().await;
            }
        })
    }
}

/// Runs a Java sink on `channel` (of `transactionCapacity` `tx_capacity`) until `stop`,
/// restarting its JVM with backoff when it fails.
pub(crate) async fn run(
    class: String,
    name: String,
    props: Vec<(String, String)>,
    channel: Arc<dyn AgentChannel>,
    tx_capacity: usize,
    counters: Arc<CounterGroup>,
    stop: Stop,
) {
    let spec = Spec {
        role: Role::Sink,
        class,
        name,
        props,
    };
    let flag = Arc::new(AtomicBool::new(false));
    supervise(spec, stop, None, move || {
        Box::new(SinkServe {
            channel: channel.clone(),
            counts: Counts::new(counters.clone(), "SINK", flag.clone()),
            tx: None,
            last: Vec::new(),
            taken: 0,
            tx_capacity: tx_capacity.max(1),
        })
    })
    .await;
}

/// The typed configuration of a Java sink, as the registry holds it. A Java sink runs its own
/// loop ([`run`]: its transactions are the plugin's), never through a sink runner, so
/// [`BuildSink::build`] answers a sink that refuses every batch.
impl crate::agent::sink::BuildSink for crate::agent::java::config::JavaConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn build(&self, name: &str) -> Box<dyn crate::agent::sink::Sink> {
        Box::new(NotRunnerDriven(name.to_owned()))
    }

    fn own_loop(&self) -> Option<crate::agent::sink::OwnLoop> {
        let (class, props) = (self.class.clone(), self.props.clone());
        Some(crate::agent::sink::OwnLoop::new(move |ctx| {
            Box::pin(run(
                class.clone(),
                ctx.name,
                props.clone(),
                ctx.channel,
                ctx.tx_capacity,
                ctx.counters,
                ctx.stop,
            ))
        }))
    }
}

#[derive(Debug)]
struct NotRunnerDriven(String);

impl crate::agent::sink::Sink for NotRunnerDriven {
    fn deliver(
        &mut self,
        _events: Vec<Event>,
    ) -> BoxFuture<'_, Result<crate::agent::sink::Delivery, crate::agent::sink::SinkError>> {
        let e = crate::agent::sink::SinkError::config(
            self.0.clone(),
            "a Java sink takes in its own transactions, not from a sink runner",
        );
        Box::pin(std::future::ready(Err(e)))
    }
}
