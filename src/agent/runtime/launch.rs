//! Starting one unit under supervision: a sink runner (the pipelined runner over a group's
//! sinks, a sink processor's own loop over them, or a sink that runs its own loop) or a source
//! with its channel processor. Each registers its counters first and is restarted with
//! backoff by [`Supervised`]. Which shape a unit has, its configuration says
//! ([`crate::agent::sink::BuildSink::own_loop`], [`SinkProcessorConfig::OwnLoop`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use super::supervise::Supervised;
use super::Agent;
use crate::agent::channel::AgentChannel;
use crate::agent::future::BoxFuture;
use crate::agent::metrics::CounterGroup;
use crate::agent::processor::SinkProcessorConfig;
use crate::agent::router::ChannelProcessor;
use crate::agent::sink::poison::PoisonHandler;
use crate::agent::sink::{runner, LoopCtx, OwnLoop};
use crate::agent::source::ready::Ready;
use crate::agent::source::{SourceCtx, SourceError, SourceErrorKind};

impl Agent {
    /// Starts the sink runner of unit `key` (a sink's name or `group:<name>`): a sink's own
    /// loop, else the runner (or a processor's own loop) over the group's sinks.
    pub(super) fn start_runner(&mut self, key: &str, proc_cfg: &SinkProcessorConfig) {
        let mut members = Vec::new();
        for s in proc_cfg.sinks() {
            let Some(sc) = self.cfg.sinks.get(&s) else {
                continue;
            };
            let Some(rc) = self.channels.get(&sc.channel) else {
                continue;
            };
            let counters = CounterGroup::sink();
            self.registry.register(&s, counters.clone());
            members.push((
                s,
                sc.kind.clone(),
                rc.channel.clone(),
                counters,
                sc.dead_letter.clone(),
            ));
        }
        if let [(s, kind, ch, counters, _)] = members.as_slice() {
            if let Some(own) = kind.builder().own_loop() {
                let sup = self.own_loop_runner(key, s, own, ch, counters);
                tracing::info!(runner = %key, "sink runner started (its own loop)");
                self.runners.insert(key.to_owned(), sup);
                return;
            }
        }
        let policy_cfg = proc_cfg.clone();
        let name = key.to_owned();
        let sup = Supervised::spawn(format!("sink runner {key}"), move |stop| {
            let units = members
                .iter()
                .map(|(s, kind, ch, counters, dead_letter)| {
                    let unit = runner::SinkUnit::new(
                        kind.build(s),
                        ch.clone(),
                        kind.batch_size(),
                        counters.clone(),
                        PoisonHandler::with(s, dead_letter.clone()),
                    );
                    (s.clone(), unit)
                })
                .collect();
            let fut: BoxFuture<'static, ()> = match &policy_cfg {
                // A processor that runs its own loop drives the group's sinks.
                SinkProcessorConfig::OwnLoop(spec) => {
                    crate::agent::registry::plugins::processor_loop(
                        name.clone(),
                        units,
                        spec.clone(),
                        stop,
                    )
                }
                _ => Box::pin(runner::run(name.clone(), units, policy_cfg.policy(), stop)),
            };
            async move {
                fut.await;
                Ok::<(), Infallible>(())
            }
        });
        tracing::info!(runner = %key, "sink runner started");
        self.runners.insert(key.to_owned(), sup);
    }

    /// The runner of a sink that runs its own loop: its transactions are its own, within its
    /// channel's `transactionCapacity`.
    fn own_loop_runner(
        &self,
        key: &str,
        s: &str,
        own: OwnLoop,
        ch: &Arc<dyn AgentChannel>,
        counters: &Arc<CounterGroup>,
    ) -> Supervised {
        let (s, ch, counters) = (s.to_owned(), ch.clone(), counters.clone());
        let tx_capacity = self
            .cfg
            .sinks
            .get(&s)
            .and_then(|sc| self.cfg.channels.get(&sc.channel))
            .map_or(1, |c| c.kind.transaction_capacity() as usize);
        Supervised::spawn(format!("sink runner {key}"), move |stop| {
            let ctx = LoopCtx {
                name: s.clone(),
                channel: ch.clone(),
                tx_capacity,
                counters: counters.clone(),
                stop,
            };
            let fut = own.start(ctx);
            async move {
                fut.await;
                Ok::<(), Infallible>(())
            }
        })
    }

    /// Starts source `name` with its channel processor over the running channels.
    pub(super) fn start_source(&mut self, name: &str) {
        let Some(sc) = self.cfg.sources.get(name).cloned() else {
            return;
        };
        let chans: BTreeMap<String, Arc<dyn AgentChannel>> = self
            .channels
            .iter()
            .map(|(n, rc)| (n.clone(), rc.channel.clone()))
            .collect();
        let counters = CounterGroup::source();
        self.registry.register(name, counters.clone());
        let source_name = name.to_owned();
        let alarms = self.board.clone();
        let (ready, wait) = Ready::new();
        self.ready.insert(name.to_owned(), wait);
        let sup = Supervised::spawn(format!("source {name}"), move |stop| {
            let ready = ready.clone();
            let alarms = alarms.clone();
            let sc = sc.clone();
            let chans = chans.clone();
            let counters = counters.clone();
            let source_name = source_name.clone();
            async move {
                let run = async {
                    let router = ChannelProcessor::new(&sc, &chans)
                        .map_err(|e| SourceError {
                            source_name: source_name.clone(),
                            kind: SourceErrorKind::Config,
                            source: e.into(),
                        })?
                        .with_counters(counters.clone());
                    let ctx = SourceCtx {
                        name: source_name,
                        router: Arc::new(router),
                        counters,
                        stop,
                        alarms,
                        ready: ready.clone(),
                    };
                    sc.kind.run(ctx).await
                };
                run.await.inspect_err(|e| ready.failed(e))
            }
        });
        tracing::info!(source = %name, "source started");
        self.sources.insert(name.to_owned(), sup);
    }
}
