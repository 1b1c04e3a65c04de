//! The agent's monitoring from its `-D` defines: the reporter `flume.monitoring.type` names
//! (the HTTP server on `flume.monitoring.bind`/`port`/`hosts`, or Ganglia) started, and who
//! may `POST /reload` (`flume.monitoring.reload`) or tap a component
//! (`flume.monitoring.tap`) over HTTP.

use anyhow::Context;
use sluice::agent::runtime::reload;
use sluice::agent::runtime::{ganglia, http, Telemetry};
use sluice::agent::stop;

use crate::cli::agent_args::{define, AgentArgs};
use crate::cli::exit;
use crate::cli::monitoring::Monitoring;

/// Who may ask for a reload over HTTP (`-Dflume.monitoring.reload`, loopback by default).
pub(crate) fn reload_access(args: &AgentArgs) -> anyhow::Result<reload::Access> {
    Ok(match define(args, "flume.monitoring.reload") {
        None => reload::Access::Loopback,
        Some(v) => reload::Access::parse(v).ok_or_else(|| {
            exit::Usage(format!(
                "-Dflume.monitoring.reload must be off, loopback or any, got {v:?}"
            ))
        })?,
    })
}

/// Who may tap a component over HTTP (`-Dflume.monitoring.tap`), when set.
pub(crate) fn allow_tap(args: &AgentArgs) -> anyhow::Result<()> {
    if let Some(v) = define(args, "flume.monitoring.tap") {
        sluice::agent::runtime::tap_http::allow(reload::Access::parse(v).ok_or_else(|| {
            exit::Usage(format!(
                "-Dflume.monitoring.tap must be off, loopback or any, got {v:?}"
            ))
        })?);
    }
    Ok(())
}

/// The `-Dflume.monitoring.type` reporter (the HTTP server or the Ganglia one), started; its
/// task, which ends after `stopped`.
pub(crate) async fn start_monitoring(
    args: &AgentArgs,
    telemetry: &Telemetry,
    stopped: stop::Stop,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let monitoring = define(args, "flume.monitoring.type")
        .map(|t| Monitoring::parse(t).map_err(exit::Usage))
        .transpose()?;
    match monitoring {
        Some(Monitoring::Http) => {
            let port: u16 = match define(args, "flume.monitoring.port") {
                None => http::PORT_DEFAULT,
                Some(p) => p.parse().with_context(|| {
                    format!("-Dflume.monitoring.port must be a port number 0-65535, got {p:?}")
                })?,
            };
            let bind = define(args, "flume.monitoring.bind").unwrap_or(http::BIND_DEFAULT);
            let hosts = define(args, "flume.monitoring.hosts");
            let (addr, task) = http::serve(bind, port, hosts, telemetry.clone(), stopped)
                .await
                .with_context(|| format!("serving metrics on {bind}:{port}"))?;
            tracing::info!(%addr, "metrics at GET /metrics");
            Ok(Some(task))
        }
        Some(Monitoring::Ganglia) => {
            let settings = ganglia::Settings::parse(
                define(args, "flume.monitoring.hosts"),
                define(args, "flume.monitoring.pollFrequency"),
                define(args, "flume.monitoring.isGanglia3"),
            )
            .map_err(|e| exit::Usage(e.to_string()))?;
            let task = ganglia::start(settings, telemetry.metrics.clone(), stopped)
                .await
                .context("starting the ganglia reporter")?;
            Ok(Some(task))
        }
        None => Ok(None),
    }
}
