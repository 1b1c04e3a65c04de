//! Which requests the monitoring server takes as meant for it (issue 47, item 15). A page on
//! another site can make a browser send requests to `127.0.0.1:41414`, either directly (a
//! cross-site form or `fetch`: the `Origin` header names the other site) or through DNS
//! rebinding (a name of the attacker's resolving to loopback: the `Host` header names it).
//!
//! - **`Host`**: answered only when it names this server: an IP literal (rebinding needs a
//!   name, so any address is fine), `localhost`, the `flume.monitoring.bind` name, this
//!   machine's host name, or a name listed in `flume.monitoring.hosts` (`*`: any). Every
//!   request is checked, reads (`/metrics`, `/`, `/history`, `/health`, ...) included. For
//!   the tap and state-changing requests a port, when given, must be the server's; a read may
//!   name any port (a scrape through a mapped port or a proxy names the outside one; DNS
//!   rebinding needs a foreign name, which is refused whatever the port). No `Host` at all
//!   (HTTP/1.0) is accepted.
//! - **`Origin`**, for a request that changes state (any method but `GET` and `HEAD`): when
//!   present it must be `http://` and a host and port that pass the `Host` rule (`null`, an
//!   opaque origin, is refused). Clients that are not browsers (curl, Prometheus, `sluice
//!   top`, `sluice tap`) send no `Origin` and are not affected.
//!
//! Refusals are `403` with a one-line reason.

use std::net::IpAddr;

use hyper::header::{HOST, ORIGIN};
use hyper::{HeaderMap, Method};

use crate::agent::host_name::hostname;

/// Most names `flume.monitoring.hosts` may list.
pub(crate) const HOSTS_MAX: usize = 64;

/// The names this server answers to besides IP literals and `localhost`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnHost {
    port: u16,
    names: Vec<String>,
    any: bool,
}

impl OwnHost {
    /// The server listening on `port`, bound to `bind`, with the extra `hosts` (a
    /// comma-separated `flume.monitoring.hosts`, `*` for any) and this machine's host name.
    pub(crate) fn new(bind: &str, port: u16, hosts: Option<&str>) -> OwnHost {
        let mut names: Vec<String> = hosts
            .unwrap_or("")
            .split(',')
            .map(normalize)
            .filter(|n| !n.is_empty())
            .take(HOSTS_MAX)
            .collect();
        let any = names.iter().any(|n| n == "*");
        names.push(normalize(bind));
        if let Some(h) = hostname() {
            names.push(normalize(&h));
        }
        OwnHost { port, names, any }
    }

    /// Whether a read (`GET` or `HEAD` of anything but the tap) may be answered: its `Host`,
    /// when given, names this server; any port (a scrape through a mapped port or a proxy
    /// names the outside one). The reason for a 403 when not.
    pub(crate) fn check_name(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        self.check_host(headers, false)
    }

    /// Whether the request may be answered: its `Host` names this server and its port, and
    /// one that changes state comes from no other site; the reason for a 403 when not.
    pub(crate) fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), &'static str> {
        self.check_host(headers, true)?;
        if method == Method::GET || method == Method::HEAD {
            return Ok(());
        }
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|authority| self.is_own(authority, Some(80)));
        if ok {
            Ok(())
        } else {
            Err("the Origin header is not this server: requests that change state are refused from other sites")
        }
    }

    /// The `Host` rule: absent, or naming this server (and its port when `port` is asked).
    fn check_host(&self, headers: &HeaderMap, port: bool) -> Result<(), &'static str> {
        let Some(host) = headers.get(HOST) else {
            return Ok(());
        };
        let ok = host.to_str().ok().is_some_and(|h| {
            if port {
                self.is_own(h, None)
            } else {
                self.names_own(h)
            }
        });
        if ok {
            Ok(())
        } else {
            Err("the Host header does not name this server (flume.monitoring.hosts lists more names)")
        }
    }

    /// Whether `authority` (`host[:port]`) names this server, whatever its port.
    fn names_own(&self, authority: &str) -> bool {
        split_authority(authority).is_some_and(|(host, _)| self.is_own_host(host))
    }

    /// Whether `authority` (`host[:port]`) names this server; `default_port` is the port an
    /// authority without one means (`None`: any).
    fn is_own(&self, authority: &str, default_port: Option<u16>) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        match port.or(default_port) {
            Some(p) if p != self.port => return false,
            _ => {}
        }
        self.is_own_host(host)
    }

    /// Whether `host` (no port) is an IP literal or one of this server's names.
    fn is_own_host(&self, host: &str) -> bool {
        if host.parse::<IpAddr>().is_ok() || self.any {
            return true;
        }
        let host = normalize(host);
        host == "localhost" || self.names.contains(&host)
    }
}

/// `host` and the port of `host[:port]` or `[v6][:port]`; `None` when malformed.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        match after {
            "" => (v6, None),
            p => (v6, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((host, port))
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(hyper::header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(n.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn own_hosts_pass_and_foreign_names_or_ports_do_not() {
        let own = OwnHost::new("0.0.0.0", 41414, Some("agent.example.com, Other."));
        let get = |host: &str| own.check(&Method::GET, &headers(&[(HOST, host)]));
        for ok in [
            "127.0.0.1:41414",
            "localhost:41414",
            "LOCALHOST",
            "[::1]:41414",
            "10.1.2.3:41414",
            "agent.example.com:41414",
            "other",
        ] {
            assert_eq!(get(ok), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example:41414",
            "127.0.0.1:41415",
            "localhost:x",
            "[::1",
            "",
        ] {
            assert!(get(bad).is_err(), "{bad}");
        }
        assert_eq!(own.check(&Method::GET, &HeaderMap::new()), Ok(()));
        let any = OwnHost::new("127.0.0.1", 41414, Some("*"));
        assert_eq!(
            any.check(&Method::GET, &headers(&[(HOST, "x.example:41414")])),
            Ok(())
        );
    }

    #[test]
    fn reads_check_the_name_whatever_the_port() {
        let own = OwnHost::new("127.0.0.1", 41414, Some("agent.example.com"));
        let read = |host: &str| own.check_name(&headers(&[(HOST, host)]));
        for ok in [
            "127.0.0.1:8080",
            "localhost",
            "agent.example.com:80",
            "[::1]:1",
        ] {
            assert_eq!(read(ok), Ok(()), "{ok}");
        }
        for bad in ["evil.example:41414", "evil.example", "localhost:x", "x", ""] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert_eq!(own.check_name(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn a_state_changing_request_needs_no_origin_or_its_own() {
        let own = OwnHost::new("127.0.0.1", 41414, None);
        let post = |origin: Option<&str>| {
            let mut h = headers(&[(HOST, "127.0.0.1:41414")]);
            if let Some(o) = origin {
                h.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
            }
            own.check(&Method::POST, &h)
        };
        assert_eq!(post(None), Ok(()));
        assert_eq!(post(Some("http://127.0.0.1:41414")), Ok(()));
        assert_eq!(post(Some("http://localhost:41414")), Ok(()));
        for bad in [
            "http://evil.example",
            "null",
            "http://127.0.0.1",
            "https://127.0.0.1:41414",
            "http://evil.example:41414",
        ] {
            assert!(post(Some(bad)).is_err(), "{bad}");
        }
        // A GET is not refused for its Origin (the browser does not show it the answer).
        let mut h = headers(&[(HOST, "127.0.0.1:41414")]);
        h.insert(ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert_eq!(own.check(&Method::GET, &h), Ok(()));
    }
}
