//! `sluice agent`: runs an agent from Flume properties files (`-f` repeated: later files
//! override earlier keys, `conf_files.rs`) until SIGINT/SIGTERM, polling the files for
//! changes (unless `--no-reload-conf`), reading them all again on SIGHUP and on
//! `POST /reload` (`agent_reload.rs`), and serving metrics over HTTP when
//! `-Dflume.monitoring.type=http` (on `-Dflume.monitoring.bind`, default loopback, and
//! `-Dflume.monitoring.port`, default 41414) or sending them to gmond with `type=ganglia`. At
//! start the soft open-file limit is raised to the hard limit. A stop ends within `SHUTDOWN_BOUND`
//! (10 s) plus the longest memory channel's `drainTimeout` (`Agent::stop_bound`) whatever peers do.
//! Its arguments: `agent_args.rs`; its reporters and HTTP access: `agent_monitoring.rs`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sluice::agent::config::{ConfFile, Severity};
use sluice::agent::metrics::CounterGroup;
use sluice::agent::rlimit;
use sluice::agent::runtime::reload::{self, Trigger};
use sluice::agent::runtime::{Agent, Telemetry};
use sluice::agent::stop;
use sluice::agent::topology::{self as config, AgentConfig};

pub use crate::cli::agent_args::{parse_define, AgentArgs};
use crate::cli::agent_monitoring::{allow_tap, reload_access, start_monitoring};
use crate::cli::agent_reload::{self, report_not_ready};
use crate::cli::conf_files;
use crate::cli::conf_provider::{Provider, UriArgs};
use crate::cli::exit;
use crate::cli::logging::LogSpec;

/// Loads the configuration read; logs warnings (errors under `--strict`); returns it or the
/// rendered errors.
pub(crate) fn load(args: &AgentArgs, files: &[ConfFile]) -> Result<AgentConfig, Vec<String>> {
    let loaded = config::load_files(files, &args.name, &args.defines);
    let names = conf_files::names(files);
    let mut errors = Vec::new();
    for p in &loaded.problems {
        match p.severity {
            Severity::Warning if !args.strict => {
                tracing::warn!("{}", conf_files::render(p, &names));
            }
            _ => errors.push(conf_files::render(p, &names)),
        }
    }
    match loaded.config {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(errors),
    }
}

/// Where the configuration comes from.
fn provider(args: &AgentArgs) -> anyhow::Result<Provider> {
    if let Some(hosts) = &args.zk_hosts {
        let watching = !args.no_reload_conf;
        return Provider::zk(hosts, args.zk_base.as_deref(), &args.name, watching);
    }
    if args.conf_uri.is_empty() {
        if args.backup_dir.is_some() || args.conf_user.is_some() {
            return Err(exit::Usage(
                "--backup-directory, --conf-user and --conf-password are for --conf-uri".into(),
            )
            .into());
        }
        return Ok(Provider::files(args.conf_file.clone()));
    }
    let basic = args.conf_user.as_deref().zip(args.conf_password.as_deref());
    Provider::uris(
        &args.name,
        UriArgs {
            uris: &args.conf_uri,
            basic,
            backup_dir: args.backup_dir.as_deref(),
        },
    )
}

/// Runs the subcommand.
pub fn run(args: AgentArgs) -> anyhow::Result<i32> {
    let spec = LogSpec::from_defines(&args.defines).map_err(exit::Usage)?;
    crate::cli::logging::init_spec(&spec)?;
    let cache_total = crate::cli::agent_args::define(&args, crate::cli::cache_total::KEY);
    let cache_total = crate::cli::cache_total::parse(cache_total);
    crate::cli::cache_total::install(cache_total.map_err(exit::Usage)?);
    if let Some(note) = args.plugins.classpath_note() {
        tracing::info!("{note}");
    }
    let mut provider = provider(&args)?;
    let first = provider.first_file().unwrap_or(Path::new("")).to_owned();
    args.plugins.set_java_env(&first);
    let workers = crate::cli::workers::workers(args.worker_threads.map(usize::from));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let files = rt.block_on(provider.initial())?;
    let cfg = match load(&args, &files) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                crate::cli::pipe::eprint_line(&e);
            }
            let strict = if args.strict {
                " (--strict: warnings count as errors)"
            } else {
                ""
            };
            crate::cli::pipe::eprint_line(&format!(
                "sluice: the configuration has errors{strict}; not starting"
            ));
            return Ok(exit::FAILED_CHECK);
        }
    };
    provider.good(&files);
    // A Java class that cannot load is a configuration error, as at `config check`: the agent
    // does not start (and restart its JVM forever) around it.
    let java_problems = crate::cli::plugins::check_classes(&cfg)?;
    if !java_problems.is_empty() {
        let file = files.first().map_or("?", |f| f.name.as_str());
        for p in &java_problems {
            crate::cli::pipe::eprint_line(&format!("{file}: {p}"));
        }
        crate::cli::pipe::eprint_line(crate::cli::plugins::JAR_PLACEMENT);
        crate::cli::pipe::eprint_line("sluice: the configuration has errors; not starting");
        return Ok(exit::FAILED_CHECK);
    }
    match rlimit::raise_nofile_limit() {
        Ok(l) if l.soft_after != l.soft_before => tracing::info!(
            soft_before = l.soft_before,
            soft = l.soft_after,
            hard = l.hard,
            "raised the open-file limit"
        ),
        Ok(l) => tracing::info!(soft = l.soft_after, hard = l.hard, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let result = rt.block_on(run_agent(args, cfg, provider));
    // Blocking work still running (a channel close past its grace) does not hold the exit.
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}

async fn run_agent(args: AgentArgs, cfg: AgentConfig, provider: Provider) -> anyhow::Result<i32> {
    // Signals are caught from the first moment: one that arrives while the agent starts (or
    // right after its readiness line) stops it cleanly instead of killing it.
    use tokio::signal::unix::{signal, SignalKind};
    let sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let telemetry = Telemetry::for_agent(&args.name);
    let reloads = reload::counters();
    telemetry.metrics.register(&args.name, reloads.clone());
    telemetry
        .metrics
        .register("dns", sluice::agent::resolver::counters());
    let mut http_reloads = reload::install(reload_access(&args)?);
    allow_tap(&args)?;
    let (http_stop, http_stopped) = stop::channel();
    let http_task = start_monitoring(&args, &telemetry, http_stopped).await?;
    let ready = telemetry.ready.clone();
    let mut agent = Agent::start(cfg, telemetry)
        .await
        .context("starting the agent")?;
    // The readiness line: logged only once every source accepts input (README); `/ready`
    // answers 200 from then on.
    let not_ready = report_not_ready(&mut agent).await;
    if not_ready.is_empty() {
        tracing::info!(agent = %args.name, "agent started");
        ready.set_ready();
    } else {
        tracing::warn!(agent = %args.name, "agent running, but not every source accepts input");
        ready.set_not_accepting(not_ready.join("; "));
    }
    let signals = Signals {
        sigterm,
        sigint,
        sighup,
    };
    until_stopped(
        &args,
        provider,
        &mut agent,
        signals,
        &mut http_reloads,
        &reloads,
    )
    .await;
    tracing::info!(
        bound_ms = agent.stop_bound().as_millis() as u64,
        "shutting down"
    );
    agent.shutdown().await;
    http_stop.stop();
    if let Some(t) = http_task {
        if tokio::time::timeout(Duration::from_millis(500), t)
            .await
            .is_err()
        {
            tracing::warn!("the metrics server did not stop in time");
        }
    }
    tracing::info!("agent stopped");
    Ok(exit::OK)
}

/// The signals the agent loop waits for.
struct Signals {
    sigterm: tokio::signal::unix::Signal,
    sigint: tokio::signal::unix::Signal,
    sighup: tokio::signal::unix::Signal,
}

/// Runs until SIGTERM or SIGINT, reloading on SIGHUP, `POST /reload` and a change the poll
/// sees.
async fn until_stopped(
    args: &AgentArgs,
    mut provider: Provider,
    agent: &mut Agent,
    mut sig: Signals,
    http_reloads: &mut Option<tokio::sync::mpsc::Receiver<reload::Request>>,
    reloads: &CounterGroup,
) {
    let every = args.poll_interval.unwrap_or(provider.poll_default_s());
    let mut poll = tokio::time::interval(Duration::from_secs(every.clamp(1, 86_400)));
    poll.tick().await;
    let polls = !args.no_reload_conf && provider.polls();
    loop {
        let (trigger, reply) = tokio::select! {
            _ = sig.sigint.recv() => return,
            _ = sig.sigterm.recv() => return,
            _ = sig.sighup.recv() => (Trigger::Signal, None),
            Some((trigger, reply)) = next_request(http_reloads) => (trigger, Some(reply)),
            _ = poll.tick(), if polls => (Trigger::Poll, None),
            _ = provider.changed() => (Trigger::Watch, None),
        };
        let Some(loaded) = load_unless_stopped(args, &mut provider, trigger, &mut sig).await else {
            return;
        };
        let Some(loaded) = loaded else { continue };
        let outcome = agent_reload::reload(|| loaded, agent, trigger, reloads).await;
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
}

/// What reading the configuration again gave: `None` when a poll saw no change.
type Reread = Option<anyhow::Result<Result<AgentConfig, Vec<String>>>>;

/// Reads the configuration again for a reload (everything on a request; on a poll, what
/// changed) and loads it on a blocking thread, racing SIGTERM and SIGINT: `None` when a
/// signal came first, so a read that hangs (a FIFO, a stuck network file system) never
/// holds the agent's stop; a reading thread is left to end by itself (the runtime's
/// shutdown does not wait for it). Keystores are read by `key_file`, which refuses FIFOs
/// and large files, so this is the second line of defence. A configuration without errors
/// is kept as the backup (`--backup-directory`).
async fn load_unless_stopped(
    args: &AgentArgs,
    provider: &mut Provider,
    trigger: Trigger,
    sig: &mut Signals,
) -> Option<Reread> {
    let read = async {
        let files = match trigger {
            Trigger::Poll | Trigger::Watch => match provider.poll().await {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            },
            _ => match provider.reread().await {
                Ok(f) => f,
                Err(e) => return Some(Err(e)),
            },
        };
        let a = args.clone();
        let (files, loaded) = match tokio::task::spawn_blocking(move || {
            let loaded = load(&a, &files);
            (files, loaded)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => return Some(Err(e.into())),
        };
        if loaded.is_ok() {
            provider.good(&files);
        }
        Some(Ok(loaded))
    };
    tokio::select! {
        _ = sig.sigterm.recv() => None,
        _ = sig.sigint.recv() => None,
        r = read => Some(r),
    }
}

/// The next `POST /reload` request; pending forever when the endpoint is not installed.
async fn next_request(
    rx: &mut Option<tokio::sync::mpsc::Receiver<reload::Request>>,
) -> Option<reload::Request> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
