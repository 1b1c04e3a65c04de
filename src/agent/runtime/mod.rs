//! The agent runtime: opens channels, starts sink runners and sources under supervision,
//! applies a changed configuration by restarting only what changed, and shuts down in
//! order (sources, then sinks, then channels, which checkpoint and close).

pub mod http;
pub mod supervise;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use crate::agent::channel::{self, AgentChannel, AgentChannelError};
use crate::agent::config::{AgentConfig, ChannelConfig};
use crate::agent::metrics::{CounterGroup, Registry};
use crate::agent::processor::SinkProcessorConfig;
use crate::agent::router::ChannelProcessor;
use crate::agent::sink::{runner, Sink};
use crate::agent::source::{self, SourceCtx};
use supervise::Supervised;

/// A running channel and the configuration it was opened with.
#[derive(Debug)]
struct RunningChannel {
    cfg: ChannelConfig,
    channel: Arc<dyn AgentChannel>,
}

/// A running agent.
#[derive(Debug)]
pub struct Agent {
    cfg: AgentConfig,
    registry: Arc<Registry>,
    channels: BTreeMap<String, RunningChannel>,
    /// Sink runners by unit: an ungrouped sink's name or `group:<name>`.
    runners: BTreeMap<String, Supervised>,
    sources: BTreeMap<String, Supervised>,
}

/// The sink runner units of a configuration: unit key -> processor.
fn units(cfg: &AgentConfig) -> BTreeMap<String, SinkProcessorConfig> {
    let mut out = BTreeMap::new();
    let mut grouped = std::collections::BTreeSet::new();
    for (g, gc) in &cfg.sinkgroups {
        grouped.extend(gc.sinks.iter().cloned());
        out.insert(format!("group:{g}"), gc.processor.clone());
    }
    for s in cfg.sinks.keys() {
        if !grouped.contains(s) {
            out.insert(s.clone(), SinkProcessorConfig::Default { sink: s.clone() });
        }
    }
    out
}

impl Agent {
    /// Opens the channels and starts everything. A channel that cannot be opened fails the
    /// start (the file channel refuses to open on damage its recovery policy does not allow).
    pub async fn start(
        cfg: AgentConfig,
        registry: Arc<Registry>,
    ) -> Result<Agent, AgentChannelError> {
        let mut agent = Agent {
            cfg: AgentConfig {
                name: cfg.name.clone(),
                ..AgentConfig::default()
            },
            registry,
            channels: BTreeMap::new(),
            runners: BTreeMap::new(),
            sources: BTreeMap::new(),
        };
        agent.apply(cfg).await?;
        Ok(agent)
    }

    /// The configuration in force.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    /// Moves to `new`, restarting only the components whose configuration (or whose
    /// channel) changed. Channels are reopened only when their own keys changed.
    pub async fn apply(&mut self, new: AgentConfig) -> Result<(), AgentChannelError> {
        let old = std::mem::replace(&mut self.cfg, new.clone());
        let new = &new;
        let changed_channels: Vec<String> = self
            .channels
            .iter()
            .filter(|(n, rc)| new.channels.get(*n) != Some(&rc.cfg))
            .map(|(n, _)| n.clone())
            .collect();
        let touches = |chs: &[&String]| chs.iter().any(|c| changed_channels.contains(c));
        let old_units = units(&old);
        let new_units = units(new);
        let unit_changed = |key: &str| -> bool {
            let (Some(o), Some(n)) = (old_units.get(key), new_units.get(key)) else {
                return true;
            };
            let sinks = n.sinks();
            o != n
                || o.sinks() != sinks
                || key.strip_prefix("group:").is_some_and(|g| {
                    old.sinkgroups.get(g).map(|x| &x.props)
                        != new.sinkgroups.get(g).map(|x| &x.props)
                })
                || sinks.iter().any(|s| {
                    old.sinks.get(s) != new.sinks.get(s)
                        || new.sinks.get(s).is_some_and(|sc| touches(&[&sc.channel]))
                })
        };
        // Stop sources, then sink runners, that must go or restart.
        let stop_sources: Vec<String> = self
            .sources
            .keys()
            .filter(|n| {
                let (o, nw) = (old.sources.get(*n), new.sources.get(*n));
                o != nw || nw.is_some_and(|s| touches(&s.channels.iter().collect::<Vec<_>>()))
            })
            .cloned()
            .collect();
        for n in &stop_sources {
            if let Some(s) = self.sources.get(n) {
                s.signal();
            }
        }
        for n in stop_sources {
            if let Some(s) = self.sources.remove(&n) {
                s.stop().await;
                tracing::info!(source = %n, "source stopped");
            }
        }
        let stop_runners: Vec<String> = self
            .runners
            .keys()
            .filter(|k| unit_changed(k))
            .cloned()
            .collect();
        for k in stop_runners {
            if let Some(r) = self.runners.remove(&k) {
                r.stop().await;
                tracing::info!(runner = %k, "sink runner stopped");
            }
        }
        for n in changed_channels {
            if let Some(rc) = self.channels.remove(&n) {
                if let Err(e) = rc.channel.close().await {
                    tracing::error!(channel = %n, error = %e, "closing channel failed");
                }
                self.registry.remove("CHANNEL", &n);
                tracing::info!(channel = %n, "channel closed");
            }
        }
        for (n, cc) in &new.channels {
            if self.channels.contains_key(n) {
                continue;
            }
            let ch = channel::open(n, &cc.kind).await?;
            self.registry.register(n, ch.counters());
            tracing::info!(channel = %n, "channel started");
            self.channels.insert(
                n.clone(),
                RunningChannel {
                    cfg: cc.clone(),
                    channel: ch,
                },
            );
        }
        for (key, proc_cfg) in &new_units {
            if !self.runners.contains_key(key) {
                self.start_runner(key, proc_cfg);
            }
        }
        for n in new.sources.keys() {
            if !self.sources.contains_key(n) {
                self.start_source(n);
            }
        }
        Ok(())
    }

    fn start_runner(&mut self, key: &str, proc_cfg: &SinkProcessorConfig) {
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
            members.push((s, sc.kind.clone(), rc.channel.clone(), counters));
        }
        let policy_cfg = proc_cfg.clone();
        let name = key.to_owned();
        let sup = Supervised::spawn(format!("sink runner {key}"), move |stop| {
            let units = members
                .iter()
                .map(|(s, kind, ch, counters)| {
                    let unit = runner::SinkUnit {
                        sink: Sink::new(s, kind),
                        channel: ch.clone(),
                        batch_size: kind.batch_size(),
                        counters: counters.clone(),
                    };
                    (s.clone(), unit)
                })
                .collect();
            let fut = runner::run(name.clone(), units, policy_cfg.policy(), stop);
            async move {
                fut.await;
                Ok::<(), Infallible>(())
            }
        });
        tracing::info!(runner = %key, "sink runner started");
        self.runners.insert(key.to_owned(), sup);
    }

    fn start_source(&mut self, name: &str) {
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
        let sup = Supervised::spawn(format!("source {name}"), move |stop| {
            let sc = sc.clone();
            let chans = chans.clone();
            let counters = counters.clone();
            let source_name = source_name.clone();
            async move {
                let router = ChannelProcessor::new(&sc, &chans).map_err(|e| e.to_string())?;
                let ctx = SourceCtx {
                    name: source_name,
                    router: Arc::new(router),
                    counters,
                    stop,
                };
                source::run(sc.kind, ctx).await.map_err(|e| e.to_string())
            }
        });
        tracing::info!(source = %name, "source started");
        self.sources.insert(name.to_owned(), sup);
    }

    /// Graceful shutdown: sources stop (finishing the batch they are putting), sink runners
    /// finish their batch, then every channel checkpoints and closes.
    pub async fn shutdown(mut self) {
        for s in self.sources.values() {
            s.signal();
        }
        for (n, s) in std::mem::take(&mut self.sources) {
            s.stop().await;
            tracing::info!(source = %n, "source stopped");
        }
        for r in self.runners.values() {
            r.signal();
        }
        for (n, r) in std::mem::take(&mut self.runners) {
            r.stop().await;
            tracing::info!(runner = %n, "sink runner stopped");
        }
        for (n, rc) in std::mem::take(&mut self.channels) {
            match rc.channel.close().await {
                Ok(()) => tracing::info!(channel = %n, "channel closed"),
                Err(e) => tracing::error!(channel = %n, error = %e, "closing channel failed"),
            }
        }
    }
}
