//! Where an S3 sink's store is: the endpoint, and which setting named it.
//!
//! The sink's own setting wins (`fs.s3a.endpoint` in core-site.xml, or `endpoint` of
//! `type = s3`); without one, the standard variables of the AWS SDKs and the AWS CLI are read
//! in their order, the service-specific one first: `AWS_ENDPOINT_URL_S3`, then
//! `AWS_ENDPOINT_URL`, then `AWS_ENDPOINT` (`object_store`'s older name). As in the SDKs,
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = true` makes the variables ignored. None at all:
//! AWS S3 itself. The endpoint's scheme decides whether plain `http://` is allowed, and an
//! endpoint whose host is an IP address is addressed path-style (no bucket can be a label of
//! an IP address; the SDKs do the same).

use std::net::IpAddr;

/// The endpoint variables, the first set (and not empty) wins.
pub const ENDPOINT_ENV: [&str; 3] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"];

/// The AWS SDKs' switch that makes [`ENDPOINT_ENV`] ignored.
pub const IGNORE_ENDPOINT_ENV: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// Which setting named the endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointFrom {
    /// No endpoint anywhere: AWS S3.
    #[default]
    Aws,
    /// `fs.s3a.endpoint` of core-site.xml.
    CoreSite,
    /// The `endpoint` key of a `type = s3` sink.
    SinkKey,
    /// One of [`ENDPOINT_ENV`].
    Env(&'static str),
}

impl std::fmt::Display for EndpointFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointFrom::Aws => f.write_str("no endpoint set"),
            EndpointFrom::CoreSite => f.write_str("fs.s3a.endpoint"),
            EndpointFrom::SinkKey => f.write_str("endpoint"),
            EndpointFrom::Env(v) => f.write_str(v),
        }
    }
}

impl EndpointFrom {
    /// What a user sets to point the sink at another endpoint (for error lines).
    pub fn what_to_set(&self) -> String {
        match self {
            EndpointFrom::Aws => "for an S3-compatible store set fs.s3a.endpoint (core-site.xml) or AWS_ENDPOINT_URL_S3 to its http:// or https:// URL".to_owned(),
            EndpointFrom::CoreSite => "check fs.s3a.endpoint in core-site.xml (an http:// or https:// URL; host:port gets https:// unless fs.s3a.connection.ssl.enabled = false)".to_owned(),
            EndpointFrom::SinkKey => "check the sink's endpoint key (an http:// or https:// URL)".to_owned(),
            EndpointFrom::Env(v) => format!("check {v} (an http:// or https:// URL), or set fs.s3a.endpoint, which wins over it"),
        }
    }
}

/// The endpoint named by the environment `get` reads, with the variable that named it:
/// `None` when none is set, or [`IGNORE_ENDPOINT_ENV`] is `true`.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Option<(&'static str, String)> {
    if get(IGNORE_ENDPOINT_ENV).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    ENDPOINT_ENV.iter().find_map(|name| {
        let v = get(name)?;
        let v = v.trim().trim_end_matches('/');
        (!v.is_empty()).then(|| (*name, v.to_owned()))
    })
}

/// Whether `url` is an `http://` or `https://` URL with a host.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|s| lower.strip_prefix(s).is_some_and(|rest| !rest.is_empty()))
}

/// The scheme of an endpoint URL (`http`, `https`).
pub fn scheme(url: &str) -> &str {
    url.split_once("://").map_or("https", |(s, _)| s)
}

/// Whether the endpoint is plain `http://`.
pub fn is_plain_http(url: &str) -> bool {
    scheme(url).eq_ignore_ascii_case("http")
}

/// Whether the host of `url` is an IP address (`http://127.0.0.1:8333`, `http://[::1]:9000`).
pub fn host_is_ip(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_service_specific_variable_wins_over_the_general_ones() {
        let e = env(&[
            ("AWS_ENDPOINT", "http://c:1"),
            ("AWS_ENDPOINT_URL", "http://b:1"),
            ("AWS_ENDPOINT_URL_S3", "http://a:1/"),
        ]);
        assert_eq!(
            from_env(e),
            Some(("AWS_ENDPOINT_URL_S3", "http://a:1".to_owned()))
        );
        let e = env(&[
            ("AWS_ENDPOINT", "http://c:1"),
            ("AWS_ENDPOINT_URL", "http://b:1"),
        ]);
        assert_eq!(
            from_env(e),
            Some(("AWS_ENDPOINT_URL", "http://b:1".to_owned()))
        );
        let e = env(&[("AWS_ENDPOINT", "http://c:1"), ("AWS_ENDPOINT_URL_S3", " ")]);
        assert_eq!(from_env(e), Some(("AWS_ENDPOINT", "http://c:1".to_owned())));
    }

    #[test]
    fn the_sdks_ignore_switch_turns_the_variables_off() {
        let e = env(&[
            ("AWS_ENDPOINT_URL", "http://b:1"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ]);
        assert_eq!(from_env(e), None);
        assert_eq!(from_env(env(&[])), None);
    }

    #[test]
    fn an_ip_address_host_is_told_from_a_name() {
        assert!(host_is_ip("http://127.0.0.1:8333"));
        assert!(host_is_ip("https://[::1]:9000/"));
        assert!(host_is_ip("http://10.0.0.7"));
        assert!(!host_is_ip("https://s3.example.com:9000"));
        assert!(!host_is_ip("http://localhost:9000"));
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_endpoints() {
        assert!(is_http_url("http://127.0.0.1:1"));
        assert!(is_http_url("HTTPS://s3.example"));
        assert!(!is_http_url("127.0.0.1:9000"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("ftp://x"));
        assert!(is_plain_http("HTTP://x") && !is_plain_http("https://x"));
    }
}
