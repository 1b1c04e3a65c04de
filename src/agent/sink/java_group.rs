//! A Java sink processor (`processor.type = com.example.MyProcessor` on a sink group): the
//! class is given the group's sinks (`setSinks`, in order, as Flume `Sink`s) and its
//! `processor.*` keys (`configure`) in a JVM of its own, where a runner thread calls its
//! `process()` in a loop as Flume's `SinkRunner` does. Each `process()` it calls on one of the
//! sinks is a PROCESS frame: the agent runs one round of that Sluice sink (take a batch from
//! its channel, deliver it, commit it, or roll it back) and answers READY, BACKOFF (nothing to
//! take, or the sink asked to back off) or a failure (`EventDeliveryException`). The sinks,
//! their channels and their transactions stay the agent's: a JVM that dies leaves no take
//! open, and is restarted with backoff.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agent::future::BoxFuture;
use crate::agent::java::check::PROCESSOR_SINKS_KEY as SINKS_KEY;
use crate::agent::java::frame::{
    encode_to_jvm, FromJvm, GroupCounts, Processed, Role, Status, ToJvm,
};
use crate::agent::java::session::{Serve, Spec};
use crate::agent::java::supervise::supervise;
use crate::agent::processor::OwnLoopSpec;
use crate::agent::sink::runner::{self, Outcome, SinkUnit};
use crate::agent::stop::Stop;

type Units = Arc<tokio::sync::Mutex<BTreeMap<String, SinkUnit>>>;

struct ProcessorServe {
    units: Units,
    order: Arc<Vec<String>>,
}

impl ProcessorServe {
    async fn process(&mut self, index: u32) -> Processed {
        let Some(name) = self.order.get(index as usize) else {
            return Processed::Failed(format!("the group has no sink number {index}"));
        };
        let mut units = self.units.lock().await;
        let Some(u) = units.get_mut(name) else {
            return Processed::Failed(format!("sink {name} is not running"));
        };
        match runner::process_once(name, u).await {
            Outcome::Ready => Processed::Ready,
            Outcome::BackOff | Outcome::Empty => Processed::Backoff,
            Outcome::Failed => Processed::Failed(format!(
                "sink {name} failed to deliver its batch; it was rolled back"
            )),
        }
    }
}

impl Serve for ProcessorServe {
    fn handle(&mut self, msg: FromJvm) -> BoxFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            let answer = match msg {
                FromJvm::Process(i) => ToJvm::Processed(self.process(i).await),
                FromJvm::Put(_) => ToJvm::PutDone(
                    Status::Error,
                    "a sink processor has no channel to put to".into(),
                ),
                FromJvm::Take(_) | FromJvm::Commit(_) | FromJvm::Rollback => ToJvm::TxDone(
                    Status::Error,
                    "a sink processor takes through its sinks".into(),
                ),
                _ => return None,
            };
            Some(encode_to_jvm(&answer))
        })
    }

    fn counts(&mut self, _groups: Vec<GroupCounts>) {}

    fn abandon(&mut self) -> BoxFuture<'_, ()> {
        // Every round commits or rolls back before it is answered: nothing is left open.
        Box::pin(std::future::ready(()))
    }
}

/// Runs sink group `runner`'s Java processor over `units` until `stop`, restarting its JVM
/// with backoff when it fails; then stops the sinks.
pub(crate) async fn run(
    runner_name: String,
    mut units: BTreeMap<String, SinkUnit>,
    spec: OwnLoopSpec,
    stop: Stop,
) {
    runner::attach(&mut units, &stop).await;
    let mut props = spec.props.clone();
    props.push((SINKS_KEY.to_owned(), spec.sinks.join(" ")));
    let jvm = Spec {
        role: Role::Processor,
        class: spec.class.clone(),
        name: runner_name,
        props,
    };
    let units: Units = Arc::new(tokio::sync::Mutex::new(units));
    let order = Arc::new(spec.sinks.clone());
    let shared = units.clone();
    supervise(jvm, stop, None, move || {
        Box::new(ProcessorServe {
            units: shared.clone(),
            order: order.clone(),
        })
    })
    .await;
    let mut units = units.lock().await;
    for u in units.values_mut() {
        u.sink.stop().await;
        u.counters.stopped();
    }
}
