//! `sluice agent`: runs an agent from a Flume properties file until SIGINT/SIGTERM, polling
//! the file for changes (unless `--no-reload-conf`), reading it again on SIGHUP and on
//! `POST /reload` (`agent_reload.rs`), and serving metrics over HTTP when
//! `-Dflume.monitoring.type=http` (on `-Dflume.monitoring.bind`, default loopback, and
//! `-Dflume.monitoring.port`, default 41414) or sending them to gmond with `type=ganglia`. At
//! start the soft open-file limit is raised to the hard limit. A stop ends within `SHUTDOWN_BOUND` (10 s) whatever peers do.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use sluice::agent::config::Severity;
use sluice::agent::rlimit;
use sluice::agent::runtime::reload::{self, Trigger};
use sluice::agent::runtime::{ganglia, http, Agent, Telemetry, SHUTDOWN_BOUND};
use sluice::agent::stop;
use sluice::agent::topology::{self as config, AgentConfig};

use crate::cli::agent_reload::{self, report_not_ready};
use crate::cli::exit;
use crate::cli::logging::LogSpec;
use crate::cli::monitoring::Monitoring;

/// Arguments of `sluice agent`.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// The agent name (the first part of every key).
    #[arg(short = 'n', long = "name")]
    pub name: String,
    /// The properties file.
    #[arg(short = 'f', long = "conf-file")]
    pub conf_file: PathBuf,
    /// Configuration directory: where `plugins.d` is looked for (in and beside it).
    #[arg(short = 'c', long = "conf")]
    pub conf_dir: Option<PathBuf>,
    /// Extra classpath of Java plugins (`:`-separated), after Sluice's shim, before
    /// `FLUME_CLASSPATH` and `plugins.d` (as `flume-ng -C`).
    #[arg(short = 'C', long = "classpath", value_name = "CLASSPATH")]
    pub classpath: Option<String>,
    /// `plugins.d` directories (`:`-separated); default: `plugins.d` in and beside the
    /// configuration directory (as `flume-ng --plugins-path`).
    #[arg(long = "plugins-path", value_name = "DIRS")]
    pub plugins_path: Option<String>,
    /// Do not poll the file for changes.
    #[arg(long = "no-reload-conf")]
    pub no_reload_conf: bool,
    /// Seconds between checks of the file for changes (1 to 86400).
    #[arg(short = 'i', long = "poll-interval", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub poll_interval: u64,
    /// `-Dkey=value`: `flume.root.logger=LEVEL[,console|LOGFILE|DRFA]`, `flume.log.dir`,
    /// `flume.log.file`, `flume.log.format=text|flume|json`, `flume.monitoring.*`, or
    /// `<agent>.<key>` overrides.
    #[arg(short = 'D', value_name = "KEY=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,
}

/// Parses `key=value` of a `-D` option.
pub fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("expected -Dkey=value, got -D{s}")),
    }
}

fn define<'a>(args: &'a AgentArgs, key: &str) -> Option<&'a str> {
    args.defines
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Loads the file; logs warnings; returns the config or the rendered errors.
pub(crate) fn load(args: &AgentArgs) -> anyhow::Result<Result<AgentConfig, Vec<String>>> {
    let text = std::fs::read_to_string(&args.conf_file)
        .with_context(|| format!("reading {}", args.conf_file.display()))?;
    let loaded = config::load(&text, &args.name, &args.defines);
    let file = args.conf_file.display().to_string();
    let mut errors = Vec::new();
    for p in &loaded.problems {
        match p.severity {
            Severity::Warning => tracing::warn!("{}", p.render(&file)),
            Severity::Error => errors.push(p.render(&file)),
        }
    }
    Ok(loaded.config.ok_or(errors))
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The line logged for Flume's `-C`/`--classpath`.
pub fn classpath_note(classpath: &str) -> String {
    format!("-C {classpath}: added to the classpath of Java plugins (docs/java-plugins.md)")
}

/// Runs the subcommand.
pub fn run(args: AgentArgs) -> anyhow::Result<i32> {
    let spec = LogSpec::from_defines(&args.defines).map_err(exit::Usage)?;
    crate::cli::logging::init_spec(&spec)?;
    if let Some(cp) = &args.classpath {
        tracing::info!("{}", classpath_note(cp));
    }
    crate::cli::plugins::set_java_env(
        &args.conf_file,
        args.conf_dir.as_deref(),
        args.classpath.as_deref(),
        args.plugins_path.as_deref(),
    );
    let cfg = match load(&args)? {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                crate::cli::pipe::eprint_line(&e);
            }
            crate::cli::pipe::eprint_line("sluice: the configuration has errors; not starting");
            return Ok(exit::FAILED_CHECK);
        }
    };
    // A Java class that cannot load is a configuration error, as at `config check`: the agent
    // does not start (and restart its JVM forever) around it.
    let java_problems = crate::cli::plugins::check_classes(&cfg)?;
    if !java_problems.is_empty() {
        let file = args.conf_file.display();
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = rt.block_on(run_agent(args, cfg));
    // Blocking work still running (a channel close past its grace) does not hold the exit.
    rt.shutdown_timeout(Duration::from_millis(500));
    result
}

async fn run_agent(args: AgentArgs, cfg: AgentConfig) -> anyhow::Result<i32> {
    // Signals are caught from the first moment: one that arrives while the agent starts (or
    // right after its readiness line) stops it cleanly instead of killing it.
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let telemetry = Telemetry::for_agent(&args.name);
    let reloads = reload::counters();
    telemetry.metrics.register(&args.name, reloads.clone());
    telemetry
        .metrics
        .register("dns", sluice::agent::resolver::counters());
    let access = match define(&args, "flume.monitoring.reload") {
        None => reload::Access::Loopback,
        Some(v) => reload::Access::parse(v).ok_or_else(|| {
            exit::Usage(format!(
                "-Dflume.monitoring.reload must be off, loopback or any, got {v:?}"
            ))
        })?,
    };
    let mut http_reloads = reload::install(access);
    match define(&args, "flume.monitoring.tap") {
        None => {}
        Some(v) => {
            sluice::agent::runtime::tap_http::allow(reload::Access::parse(v).ok_or_else(|| {
                exit::Usage(format!(
                    "-Dflume.monitoring.tap must be off, loopback or any, got {v:?}"
                ))
            })?)
        }
    }
    let (http_stop, http_stopped) = stop::channel();
    let mut http_task = None;
    let monitoring = define(&args, "flume.monitoring.type")
        .map(|t| Monitoring::parse(t).map_err(exit::Usage))
        .transpose()?;
    if monitoring == Some(Monitoring::Http) {
        let port: u16 = match define(&args, "flume.monitoring.port") {
            None => http::PORT_DEFAULT,
            Some(p) => p.parse().with_context(|| {
                format!("-Dflume.monitoring.port must be a port number 0-65535, got {p:?}")
            })?,
        };
        let bind = define(&args, "flume.monitoring.bind").unwrap_or(http::BIND_DEFAULT);
        let hosts = define(&args, "flume.monitoring.hosts");
        let (addr, task) = http::serve(bind, port, hosts, telemetry.clone(), http_stopped.clone())
            .await
            .with_context(|| format!("serving metrics on {bind}:{port}"))?;
        tracing::info!(%addr, "metrics at GET /metrics");
        http_task = Some(task);
    }
    if monitoring == Some(Monitoring::Ganglia) {
        let settings = ganglia::Settings::parse(
            define(&args, "flume.monitoring.hosts"),
            define(&args, "flume.monitoring.pollFrequency"),
            define(&args, "flume.monitoring.isGanglia3"),
        )
        .map_err(exit::Usage)?;
        let task = ganglia::start(settings, telemetry.metrics.clone(), http_stopped.clone())
            .await
            .context("starting the ganglia reporter")?;
        http_task = Some(task);
    }
    let ready = telemetry.ready.clone();
    let mut agent = Agent::start(cfg, telemetry)
        .await
        .context("starting the agent")?;
    // The readiness line: logged only once every source accepts input (README); `/ready`
    // answers 200 from then on.
    if report_not_ready(&mut agent).await {
        tracing::info!(agent = %args.name, "agent started");
        ready.set_ready();
    } else {
        tracing::warn!(agent = %args.name, "agent running, but not every source accepts input");
    }
    let mut last = stamp(&args.conf_file);
    let mut poll = tokio::time::interval(Duration::from_secs(args.poll_interval.clamp(1, 86_400)));
    poll.tick().await;
    loop {
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            _ = sighup.recv() => {
                last = stamp(&args.conf_file);
                let Some(loaded) = load_unless_stopped(&args, &mut sigterm, &mut sigint).await else {
                    break;
                };
                agent_reload::reload(|| loaded, &mut agent, Trigger::Signal, &reloads).await;
            }
            Some((trigger, reply)) = next_request(&mut http_reloads) => {
                last = stamp(&args.conf_file);
                let Some(loaded) = load_unless_stopped(&args, &mut sigterm, &mut sigint).await else {
                    break;
                };
                let outcome = agent_reload::reload(|| loaded, &mut agent, trigger, &reloads).await;
                let _ = reply.send(outcome);
            }
            _ = poll.tick(), if !args.no_reload_conf => {
                let now = stamp(&args.conf_file);
                if now == last || now.is_none() {
                    continue;
                }
                last = now;
                let Some(loaded) = load_unless_stopped(&args, &mut sigterm, &mut sigint).await else {
                    break;
                };
                agent_reload::reload(|| loaded, &mut agent, Trigger::Poll, &reloads).await;
            }
        }
    }
    tracing::info!(
        bound_ms = SHUTDOWN_BOUND.as_millis() as u64,
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

/// Reads the file again for a reload on a blocking thread, racing SIGTERM and SIGINT: `None`
/// when a signal came first, so a read that hangs (a FIFO, a stuck network file system) never
/// holds the agent's stop; the reading thread is left to end by itself (the runtime's
/// shutdown does not wait for it). Keystores are read by `key_file`, which refuses FIFOs
/// and large files, so this is the second line of defence.
async fn load_unless_stopped(
    args: &AgentArgs,
    sigterm: &mut tokio::signal::unix::Signal,
    sigint: &mut tokio::signal::unix::Signal,
) -> Option<anyhow::Result<Result<AgentConfig, Vec<String>>>> {
    let args = args.clone();
    let read = tokio::task::spawn_blocking(move || load(&args));
    tokio::select! {
        _ = sigterm.recv() => None,
        _ = sigint.recv() => None,
        r = read => Some(r.map_err(anyhow::Error::from).and_then(|loaded| loaded)),
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
