//! The agent's side of a Java source: each PUT (`processEvent(s)`) goes through the source's
//! channel processor (Sluice's interceptors, selector and channels) and is answered only
//! after every required channel committed; a full channel answers FULL, which the shim
//! throws as `ChannelFullException`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::agent::future::BoxFuture;
use crate::agent::java::counts::Counts;
use crate::agent::java::frame::{encode_to_jvm, FromJvm, GroupCounts, Role, Status, ToJvm};
use crate::agent::java::session::{Serve, Spec};
use crate::agent::java::supervise::supervise;
use crate::agent::metrics::{CounterGroup, SourceCounter};
use crate::agent::router::ChannelProcessor;
use crate::agent::stop::Stop;

struct SourceServe {
    router: Arc<ChannelProcessor>,
    counts: Counts,
}

impl Serve for SourceServe {
    fn handle(&mut self, msg: FromJvm) -> BoxFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            let FromJvm::Put(events) = msg else {
                let m = "a source has no take transactions".to_owned();
                return Some(encode_to_jvm(&ToJvm::TxDone(Status::Error, m)));
            };
            let n = events.len() as u64;
            self.counts.own(SourceCounter::EventReceived, n);
            self.counts.own(SourceCounter::AppendBatchReceived, 1);
            let answer = match self.router.process(events).await {
                Ok(()) => {
                    self.counts.own(SourceCounter::EventAccepted, n);
                    self.counts.own(SourceCounter::AppendBatchAccepted, 1);
                    ToJvm::PutDone(Status::Ok, String::new())
                }
                Err(e) => {
                    self.counts.own(SourceCounter::ChannelWriteFail, 1);
                    let status = if e.is_full() {
                        Status::Full
                    } else {
                        Status::Error
                    };
                    ToJvm::PutDone(status, e.to_string())
                }
            };
            Some(encode_to_jvm(&answer))
        })
    }

    fn counts(&mut self, groups: Vec<GroupCounts>) {
        self.counts.reported(groups);
    }

    fn abandon(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// Runs a Java source until `stop`, restarting its JVM with backoff when it fails.
pub(crate) async fn run(
    class: String,
    name: String,
    props: Vec<(String, String)>,
    router: Arc<ChannelProcessor>,
    counters: Arc<CounterGroup>,
    stop: Stop,
) {
    let spec = Spec {
        role: Role::Source,
        class,
        name,
        props,
    };
    let flag = Arc::new(AtomicBool::new(false));
    supervise(spec, stop, None, move || {
        Box::new(SourceServe {
            router: router.clone(),
            counts: Counts::new(counters.clone(), "SOURCE", flag.clone()),
        })
    })
    .await;
}

impl crate::agent::source::BuildSource for crate::agent::java::config::JavaConfig {
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run(&self, ctx: crate::agent::source::SourceCtx) -> crate::agent::source::SourceTask {
        let cfg = self.clone();
        Box::pin(async move {
            run(
                cfg.class,
                ctx.name,
                cfg.props,
                ctx.router,
                ctx.counters,
                ctx.stop,
            )
            .await;
            Ok(())
        })
    }
}
