//! The agent runtime: opens channels, starts sink runners and sources under supervision,
//! applies a changed configuration by restarting only what changed, and shuts down in
//! order (sources; then the memory channels drained into their sinks; then sinks; then
//! channels, which checkpoint and close).
//!
//! Every step of a stop has a deadline ([`SOURCE_STOP_GRACE`], a memory channel's
//! `drainTimeout`, [`RUNNER_STOP_GRACE`], [`CHANNEL_CLOSE_GRACE`]): a component that has not
//! finished by then is aborted, so a shutdown ends within [`Agent::stop_bound`]
//! ([`SHUTDOWN_BOUND`] plus the longest `drainTimeout`) whatever peers do. A reload drains the
//! memory channels it removes or changes the same way before their sinks stop. A reload that
//! fails (a new channel cannot open) rolls back to the configuration that was running.

pub(crate) mod alarm_task;
mod channel_move;
mod diff;
pub mod ganglia;
pub(crate) mod health;
pub(crate) mod history;
pub mod http;
mod http_answer;
mod http_slots;
mod launch;
pub(crate) mod own_host;
pub mod reload;
mod scrape;
mod stopping;
pub(crate) mod supervise;
pub mod tap_http;
pub(crate) mod telemetry;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::alarm::AlarmBoard;
use crate::agent::channel::{AgentChannel, AgentChannelError};
use crate::agent::metrics::Registry;
use crate::agent::source::ready::{self, ReadyWait};
use crate::agent::topology::{AgentConfig, ChannelConfig};
use alarm_task::AlarmTask;
use diff::Diff;
use stopping::{close_all, drain, stop_all};
use supervise::Supervised;
pub use telemetry::Telemetry;

/// How long sources get to finish the batch they are putting when asked to stop.
pub(crate) const SOURCE_STOP_GRACE: Duration = Duration::from_secs(3);
/// How long sink runners get to finish their batch when asked to stop.
pub(crate) const RUNNER_STOP_GRACE: Duration = Duration::from_secs(3);
/// How long channels get to checkpoint and close (an unfinished close is left to recovery at
/// the next start: everything committed is already durable).
pub(crate) const CHANNEL_CLOSE_GRACE: Duration = Duration::from_secs(3);
/// The longest a shutdown takes beside the memory channels' drain (the three graces, then half
/// a second each for the metrics server and the runtime); [`Agent::stop_bound`] adds the
/// longest `drainTimeout`.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(10);

/// A running channel and the configuration it was opened with.
#[derive(Debug)]
struct RunningChannel {
    cfg: ChannelConfig,
    channel: Arc<dyn AgentChannel>,
}

/// Whether [`Agent::converge`] checks for moved channels that hold events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// It does (a reload).
    RefuseMoves,
    /// It does not (the start, and the restore of the running configuration).
    None,
}

/// A running agent.
#[derive(Debug)]
pub struct Agent {
    cfg: AgentConfig,
    registry: Arc<Registry>,
    board: Arc<AlarmBoard>,
    channels: BTreeMap<String, RunningChannel>,
    /// Sink runners by unit: an ungrouped sink's name or `group:<name>`.
    runners: BTreeMap<String, Supervised>,
    sources: BTreeMap<String, Supervised>,
    /// Whether each source (by name, as last started) accepts input.
    ready: BTreeMap<String, ReadyWait>,
    /// The alarm task and the configuration it follows.
    alarms: AlarmTask,
}

impl Agent {
    /// Opens the channels and starts everything. A channel that cannot be opened fails the
    /// start (the file channel refuses to open on damage its recovery policy does not allow).
    pub async fn start(
        cfg: AgentConfig,
        telemetry: impl Into<Telemetry>,
    ) -> Result<Agent, AgentChannelError> {
        let Telemetry {
            metrics: registry,
            alarms: board,
            ..
        } = telemetry.into();
        let mut agent = Agent {
            cfg: AgentConfig {
                name: cfg.name.clone(),
                ..AgentConfig::default()
            },
            alarms: AlarmTask::start(&registry, &board, &cfg.name),
            registry,
            board,
            channels: BTreeMap::new(),
            runners: BTreeMap::new(),
            sources: BTreeMap::new(),
            ready: BTreeMap::new(),
        };
        agent.converge(cfg, Guard::None).await?;
        Ok(agent)
    }

    /// The agent's alarm board.
    pub fn alarm_board(&self) -> Arc<AlarmBoard> {
        self.board.clone()
    }

    /// The configuration in force.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    /// The running channel named `name` (as the sources and sinks see it).
    pub fn channel(&self, name: &str) -> Option<Arc<dyn AgentChannel>> {
        self.channels.get(name).map(|rc| rc.channel.clone())
    }

    /// Moves to `new`, restarting only the components whose configuration (or whose
    /// channel) changed. Channels are reopened only when their own keys changed.
    ///
    /// A file channel that holds events is not moved: a new configuration that gives it
    /// other directories (or another type) is refused whole ([`AgentChannelError::Moved`]),
    /// checked before anything stops and again once its sources and sinks have stopped (a
    /// source may have put events meanwhile; the running configuration is then restored).
    /// A new channel's directories are created before anything is stopped, so a directory
    /// that cannot be created changes nothing. If a new channel still fails to open, the
    /// configuration that was running is restored (its channels reopened, its sources and
    /// sinks restarted) and the error returned.
    pub async fn apply(&mut self, new: AgentConfig) -> Result<(), AgentChannelError> {
        self.refuse_moves(&new)?;
        self.prepare(&new)?;
        let old = self.cfg.clone();
        let Err(e) = self.converge(new, Guard::RefuseMoves).await else {
            return Ok(());
        };
        tracing::error!(error = %e, "applying the new configuration failed; restoring the running one");
        match self.converge(old, Guard::None).await {
            Ok(()) => tracing::warn!("the previous configuration is running again"),
            Err(e2) => {
                tracing::error!(error = %e2, "restoring the previous configuration failed; some components are not running")
            }
        }
        Err(e)
    }

    /// Refuses `new` when it would move a running file channel that holds events
    /// ([`channel_move`]).
    fn refuse_moves(&self, new: &AgentConfig) -> Result<(), AgentChannelError> {
        for (n, rc) in &self.channels {
            let Some(cc) = new.channels.get(n) else {
                continue;
            };
            if let Some(e) = channel_move::refusal(n, &rc.cfg, rc.channel.as_ref(), cc) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Creates the directories of every file channel that `new` opens, so that a path that
    /// cannot be created fails the reload before any component is stopped.
    #[allow(
        clippy::disallowed_methods,
        reason = "the runtime creates the file channels' directories on the real disk (DESIGN.md, the agent's std::fs rule)"
    )]
    fn prepare(&self, new: &AgentConfig) -> Result<(), AgentChannelError> {
        for (n, cc) in &new.channels {
            if self.channels.get(n).is_some_and(|rc| rc.cfg == *cc) {
                continue;
            }
            for d in cc.kind.dirs() {
                std::fs::create_dir_all(&d).map_err(|source| AgentChannelError::Prepare {
                    channel: n.clone(),
                    path: d.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Stops what differs between the running components and `new`, then opens and starts
    /// what is missing. With [`Guard::RefuseMoves`], a channel that would be moved while it
    /// holds events fails the call before any channel is closed.
    async fn converge(&mut self, new: AgentConfig, guard: Guard) -> Result<(), AgentChannelError> {
        let old = std::mem::replace(&mut self.cfg, new.clone());
        let new = &new;
        let changed_channels: Vec<String> = self
            .channels
            .iter()
            .filter(|(n, rc)| new.channels.get(*n) != Some(&rc.cfg))
            .map(|(n, _)| n.clone())
            .collect();
        let diff = Diff::new(&old, new, changed_channels);
        self.stop_changed(&diff).await;
        if guard == Guard::RefuseMoves {
            // Its sources are stopped now: what it holds can no longer grow.
            self.refuse_moves(new)?;
        }
        self.close_channels(&diff.channels).await;
        self.open_channels(new).await?;
        self.forget_stale_cursors(new).await;
        for (key, proc_cfg) in &diff.new_units {
            if !self.runners.contains_key(key) {
                self.start_runner(key, proc_cfg);
            }
        }
        for n in new.sources.keys() {
            if !self.sources.contains_key(n) {
                self.start_source(n);
            }
        }
        self.alarms.apply(&self.registry, &self.board, new);
        Ok(())
    }

    /// Stops the sources, then the sink runners, that must go or restart; between them the
    /// memory channels that change or go are drained into the sinks that read them.
    async fn stop_changed(&mut self, diff: &Diff<'_>) {
        let sources = take_where(&mut self.sources, |n| diff.source_changed(n));
        stop_all("source", sources, SOURCE_STOP_GRACE).await;
        let draining = diff
            .channels
            .iter()
            .filter(|n| diff.read_before(n))
            .filter_map(|n| {
                self.channels
                    .get(n)
                    .map(|rc| (n.clone(), rc.channel.clone()))
            })
            .collect();
        drain(draining).await;
        let runners = take_where(&mut self.runners, |k| diff.unit_changed(k));
        stop_all("sink runner", runners, RUNNER_STOP_GRACE).await;
    }

    /// Closes the running channels `names` (their counters unregistered first).
    async fn close_channels(&mut self, names: &[String]) {
        let closing: Vec<(String, Arc<dyn AgentChannel>)> = names
            .iter()
            .filter_map(|n| self.channels.remove(n).map(|rc| (n.clone(), rc.channel)))
            .collect();
        for (n, _) in &closing {
            self.registry.remove("CHANNEL", n);
        }
        close_all(closing).await;
    }

    /// Forgets, in each channel that keeps cursors, those of sinks that do not read it in `new`
    /// (renamed, removed, moved to another channel), before any sink starts: a sink of that
    /// name that reads it later starts afresh (a baseline) instead of cutting the output back
    /// to a cursor older than what another sink wrote there since (committed output removed).
    async fn forget_stale_cursors(&self, new: &AgentConfig) {
        for (n, rc) in &self.channels {
            if !rc.channel.keeps_cursors() {
                continue;
            }
            let stale: Vec<String> = rc
                .channel
                .cursor_keys()
                .into_iter()
                .filter(|k| new.sinks.get(k).is_none_or(|sc| sc.channel != *n))
                .collect();
            if stale.is_empty() {
                continue;
            }
            let mut tx = rc.channel.begin();
            if !stale.iter().all(|k| tx.set_cursor(k, Vec::new())) {
                tx.rollback().await;
                continue;
            }
            match tx.commit().await {
                Ok(()) => {
                    tracing::info!(channel = %n, sinks = ?stale, "forgot the cursors of sinks that no longer read the channel (a sink of that name that reads it again starts afresh, not cut back to its old cursor)");
                }
                Err(e) => {
                    tracing::warn!(channel = %n, sinks = ?stale, error = %e, "cannot forget the cursors of sinks that no longer read the channel");
                }
            }
        }
    }

    /// Opens every channel of `new` that is not running.
    async fn open_channels(&mut self, new: &AgentConfig) -> Result<(), AgentChannelError> {
        for (n, cc) in &new.channels {
            if self.channels.contains_key(n) {
                continue;
            }
            let ch = cc.kind.open_shown(n, self.registry.clone()).await?;
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
        Ok(())
    }

    /// Waits until every source accepts input (its sockets are bound) or has failed its
    /// start, at most [`ready::READY_WAIT`]; returns the sources that do not accept input,
    /// each with why (a failed one is restarted with backoff).
    pub async fn sources_ready(&mut self) -> Vec<(String, String)> {
        let sources = &self.sources;
        self.ready.retain(|n, _| sources.contains_key(n));
        ready::wait_all(&self.ready, ready::READY_WAIT).await
    }

    /// The longest a [`Agent::shutdown`] and the process's exit take: [`SHUTDOWN_BOUND`] plus
    /// the longest `drainTimeout` of a memory channel that a sink reads.
    pub fn stop_bound(&self) -> Duration {
        let drain = self
            .draining()
            .iter()
            .filter_map(|(_, ch)| ch.volatile().map(|v| v.drain_timeout))
            .max()
            .unwrap_or(Duration::ZERO);
        SHUTDOWN_BOUND.saturating_add(drain)
    }

    /// The running channels some sink reads (those a stop drains, when they are memory
    /// channels).
    fn draining(&self) -> Vec<(String, Arc<dyn AgentChannel>)> {
        self.channels
            .iter()
            .filter(|(n, _)| self.cfg.sinks.values().any(|s| &s.channel == *n))
            .map(|(n, rc)| (n.clone(), rc.channel.clone()))
            .collect()
    }

    /// Graceful shutdown: sources stop (finishing the batch they are putting), the memory
    /// channels are drained into their sinks (each for up to its `drainTimeout`), sink
    /// runners finish their batch, then every channel checkpoints and closes (a memory
    /// channel counting what it still held as lost). Each step has its grace; the whole takes
    /// at most [`Agent::stop_bound`] less the metrics server's second.
    pub async fn shutdown(mut self) {
        let sources = std::mem::take(&mut self.sources).into_iter().collect();
        stop_all("source", sources, SOURCE_STOP_GRACE).await;
        drain(self.draining()).await;
        let runners = std::mem::take(&mut self.runners).into_iter().collect();
        stop_all("sink runner", runners, RUNNER_STOP_GRACE).await;
        close_all(
            std::mem::take(&mut self.channels)
                .into_iter()
                .map(|(n, rc)| (n, rc.channel))
                .collect(),
        )
        .await;
        self.alarms.stop().await;
    }
}

/// Removes from `running` the units whose name `pick` picks, in name order.
fn take_where(
    running: &mut BTreeMap<String, Supervised>,
    pick: impl Fn(&str) -> bool,
) -> Vec<(String, Supervised)> {
    let names: Vec<String> = running.keys().filter(|n| pick(n)).cloned().collect();
    names
        .into_iter()
        .filter_map(|n| running.remove(&n).map(|s| (n, s)))
        .collect()
}
