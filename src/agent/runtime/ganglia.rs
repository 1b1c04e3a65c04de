//! The Ganglia reporter (`-Dflume.monitoring.type=ganglia`), as Flume's `GangliaServer`: every
//! `pollFrequency` seconds (default 60), starting at once, every attribute of every component
//! goes to each gmond of `flume.monitoring.hosts` (`HOST:PORT,...`) as one metric named
//! `flume.TYPE.name.Attribute` (`flume.CHANNEL.c1.ChannelSize`), in Ganglia 3.1's packets or,
//! with `isGanglia3 = true`, 3.0's (the codec: [`crate::wire::ganglia`]). One UDP socket; a
//! failed send is logged at most once a poll per host and retried at the next poll.
//!
//! Stricter than Flume, which skips a bad host entry with a warning: every entry must be
//! `HOST:PORT` and `pollFrequency` a whole number of seconds 1..=86,400, or the agent does not
//! start (a usage error naming the key).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::agent::metrics::Registry;
use crate::agent::stop::Stop;
use crate::wire::ganglia;

/// Flume's default `pollFrequency`.
pub(crate) const POLL_DEFAULT: Duration = Duration::from_secs(60);
/// Longest `pollFrequency` accepted (a day).
pub(crate) const POLL_MAX_SECS: u64 = 86_400;

/// The reporter's settings, from `-Dflume.monitoring.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The gmond addresses, as written (`HOST:PORT`), resolved at start.
    pub hosts: Vec<String>,
    /// Time between two polls.
    pub poll: Duration,
    /// Ganglia 3.0's packets (`isGanglia3`).
    pub ganglia30: bool,
}

/// A ganglia setting that cannot be used; it names the `-D` define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// No `flume.monitoring.hosts`.
    #[error("-Dflume.monitoring.hosts is required with type=ganglia (HOST:PORT,...)")]
    NoHosts,
    /// A host that is not `HOST:PORT`.
    #[error("-Dflume.monitoring.hosts: {0:?} is not HOST:PORT (a gmond's udp_recv_channel)")]
    BadHost(String),
    /// A poll frequency out of range.
    #[error("-Dflume.monitoring.pollFrequency must be seconds 1-{POLL_MAX_SECS}, got {0:?}")]
    BadPoll(String),
    /// `isGanglia3` neither true nor false.
    #[error("-Dflume.monitoring.isGanglia3 must be true or false, got {0:?}")]
    BadGanglia3(String),
}

impl Settings {
    /// Reads `flume.monitoring.hosts`, `.pollFrequency` and `.isGanglia3`.
    pub fn parse(
        hosts: Option<&str>,
        poll: Option<&str>,
        ganglia3: Option<&str>,
    ) -> Result<Self, SettingsError> {
        let hosts_text = hosts.map(str::trim).unwrap_or_default();
        if hosts_text.is_empty() {
            return Err(SettingsError::NoHosts);
        }
        let mut list = Vec::new();
        for h in hosts_text.split(',').map(str::trim) {
            let ok = h.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok {
                return Err(SettingsError::BadHost(h.to_owned()));
            }
            list.push(h.to_owned());
        }
        let poll = match poll.map(str::trim) {
            None => POLL_DEFAULT,
            Some(p) => match p.parse::<u64>() {
                Ok(s) if (1..=POLL_MAX_SECS).contains(&s) => Duration::from_secs(s),
                _ => return Err(SettingsError::BadPoll(p.to_owned())),
            },
        };
        let ganglia30 = match ganglia3.map(str::trim) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(SettingsError::BadGanglia3(v.to_owned())),
        };
        Ok(Settings {
            hosts: list,
            poll,
            ganglia30,
        })
    }
}

/// Resolves the hosts and binds the socket, then reports until `stop`: the task's handle.
pub async fn start(
    settings: Settings,
    registry: Arc<Registry>,
    mut stop: Stop,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut targets: Vec<SocketAddr> = Vec::new();
    for h in &settings.hosts {
        let addr = tokio::net::lookup_host(h.as_str())
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("{h}: no address"))
            })?;
        targets.push(addr);
    }
    let any_v6 = targets.iter().any(SocketAddr::is_ipv6);
    let socket = UdpSocket::bind(if any_v6 { "[::]:0" } else { "0.0.0.0:0" }).await?;
    let me = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    tracing::info!(hosts = ?settings.hosts, poll_s = settings.poll.as_secs(), "reporting metrics to ganglia");
    Ok(tokio::spawn(async move {
        loop {
            poll_once(&socket, &targets, &registry, &me, settings.ganglia30).await;
            if stop.sleep(settings.poll).await {
                return;
            }
        }
    }))
}

/// Sends every metric once to every target.
async fn poll_once(
    socket: &UdpSocket,
    targets: &[SocketAddr],
    registry: &Registry,
    me: &str,
    ganglia30: bool,
) {
    let mut failed = vec![false; targets.len()];
    for (component, group) in registry.groups() {
        for (attribute, value) in group.snapshot() {
            let name = format!("flume.{component}.{attribute}");
            let packets = match ganglia::metric_packets(me, &name, &value, ganglia30) {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = %e, "metric not sent to ganglia");
                    continue;
                }
            };
            for (i, target) in targets.iter().enumerate() {
                for p in &packets {
                    if let Err(e) = socket.send_to(p, target).await {
                        if !failed[i] {
                            tracing::warn!(%target, error = %e, "cannot send metrics to ganglia");
                            failed[i] = true;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_flumes_keys_with_flumes_defaults() {
        let s = Settings::parse(Some("a:8649, b:8650"), None, None).unwrap();
        assert_eq!(s.hosts, vec!["a:8649", "b:8650"]);
        assert_eq!(s.poll, POLL_DEFAULT);
        assert!(!s.ganglia30);
        let s = Settings::parse(Some("[::1]:8649"), Some("5"), Some("TRUE")).unwrap();
        assert_eq!(s.poll, Duration::from_secs(5));
        assert!(s.ganglia30);
    }

    #[test]
    fn bad_settings_name_the_key() {
        for (h, p, g, key) in [
            (None, None, None, "hosts"),
            (Some("gmond"), None, None, "hosts"),
            (Some("gmond:x"), None, None, "hosts"),
            (Some("gmond:0"), None, None, "hosts"),
            (Some("g:1"), Some("0"), None, "pollFrequency"),
            (Some("g:1"), Some("1m"), None, "pollFrequency"),
            (Some("g:1"), None, Some("yes"), "isGanglia3"),
        ] {
            let e = Settings::parse(h, p, g).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }
}
