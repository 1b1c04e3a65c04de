//! `ipFilter` / `ipFilterRules` of the RPC sources, with Flume's syntax and semantics
//! (Flume's `AvroSource.generateRule` and Netty's `PatternRule` / `RuleBasedIpFilter`):
//!
//! - `ipFilterRules` is a comma-separated list of `allow|deny:ip|name:PATTERN`
//!   (case-sensitive keywords, as Flume's);
//! - the rules are tried in order and the **first match wins**; a peer that no rule matches
//!   is **allowed** (Netty's default: the list is a set of exceptions, so end it with
//!   `deny:ip:*` to admit only what is listed);
//! - a PATTERN is a glob matched against the whole text: `*` is any run of characters, `?`
//!   one character, `.` a dot; as in Netty the rest is regular-expression syntax
//!   (`10.0.0.(1|2)` works);
//! - `ip:` matches the peer's address as text (`10.1.2.3`; an IPv6 peer as `::1` or Java's
//!   `0:0:0:0:0:0:0:1`; an IPv4-mapped IPv6 peer as its IPv4 address);
//! - `name:` matches the peer's host name from a reverse lookup (the address as text when it
//!   has none, as Java's `getHostName`), looked up only when a `name:` rule is reached;
//!   `name:localhost` exactly is special: it matches a loopback peer (127.0.0.0/8, `::1`)
//!   without a lookup.
//!
//! Rules that can never match are refused rather than kept silently (Flume keeps them, and
//! admits the peer they were meant to stop): an empty pattern, a CIDR block (`10.0.0.0/8`;
//! patterns are globs over the address text, write `10.*`), and an IPv4-mapped IPv6 address
//! (`::ffff:10.1.2.3`; a mapped peer is matched as its IPv4 address, the form the log prints).
//!
//! This module is pure: [`IpFilter::decide`] asks for the name ([`Decision::NeedName`])
//! rather than looking it up.

use std::net::IpAddr;

use regex::Regex;

/// Most rules in `ipFilterRules`.
pub(crate) const RULES_MAX: usize = 1024;

/// One rule.
#[derive(Clone, Debug)]
struct Rule {
    allow: bool,
    /// As written, for log lines.
    text: String,
    what: Match,
}

#[derive(Clone, Debug)]
enum Match {
    Ip(Option<Regex>),
    Name(Option<Regex>),
    Localhost,
}

/// The parsed rules, in order.
#[derive(Clone, Debug)]
pub(crate) struct IpFilter {
    rules: Vec<Rule>,
}

/// What the rules say about a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Admit the peer: `rule` matched (an `allow` rule), or none did (`rule` is `None`).
    Allow {
        /// The matching rule as written.
        rule: Option<String>,
    },
    /// Refuse the peer: this `deny` rule matched first.
    Deny {
        /// The matching rule as written.
        rule: String,
    },
    /// A `name:` rule is next: call again with the peer's host name.
    NeedName,
}

/// A rule that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpFilterError {
    /// Not `allow|deny:ip|name:pattern`.
    #[error(
        "invalid ipFilter rule {0:?}: it should look like <allow or deny>:<ip or name>:<pattern>"
    )]
    Syntax(String),
    /// The pattern is not a valid glob/regular expression.
    #[error("invalid ipFilter rule {rule:?}: {reason}")]
    Pattern {
        /// The rule.
        rule: String,
        /// Why.
        reason: String,
    },
    /// A rule no peer can ever match.
    #[error("ipFilter rule {rule:?} can never match: {why}")]
    NeverMatches {
        /// The rule.
        rule: String,
        /// Why, and what to write instead.
        why: String,
    },
    /// No rule at all.
    #[error("ipFilter = true but ipFilterRules has no rule")]
    Empty,
    /// Over [`RULES_MAX`].
    #[error("ipFilterRules has {0} rules; at most {RULES_MAX}")]
    TooMany(usize),
}

impl IpFilter {
    /// Parses `ipFilterRules`.
    pub(crate) fn parse(spec: &str) -> Result<IpFilter, IpFilterError> {
        let mut items: Vec<&str> = spec.split(',').collect();
        // Java's split drops trailing empty items.
        while items.last().is_some_and(|s| s.trim().is_empty()) {
            items.pop();
        }
        if items.is_empty() {
            return Err(IpFilterError::Empty);
        }
        if items.len() > RULES_MAX {
            return Err(IpFilterError::TooMany(items.len()));
        }
        let rules = items
            .into_iter()
            .map(|item| parse_rule(item.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IpFilter { rules })
    }

    /// Whether some rule needs the peer's host name.
    pub(crate) fn has_name_rules(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.what, Match::Name(_)))
    }

    /// The rules as written (for the log line at start).
    pub(crate) fn describe(&self) -> String {
        let texts: Vec<&str> = self.rules.iter().map(|r| r.text.as_str()).collect();
        texts.join(",")
    }

    /// Applies the rules to a peer; `name` is its host name once known.
    pub(crate) fn decide(&self, ip: IpAddr, name: Option<&str>) -> Decision {
        let ip = ip.to_canonical();
        let texts = ip_texts(ip);
        for r in &self.rules {
            let hit = match &r.what {
                Match::Localhost => ip.is_loopback(),
                Match::Ip(re) => re
                    .as_ref()
                    .is_some_and(|re| texts.iter().any(|t| re.is_match(t))),
                Match::Name(None) => false,
                Match::Name(Some(re)) => match name {
                    None => return Decision::NeedName,
                    Some(n) => re.is_match(n),
                },
            };
            if hit {
                return if r.allow {
                    Decision::Allow {
                        rule: Some(r.text.clone()),
                    }
                } else {
                    Decision::Deny {
                        rule: r.text.clone(),
                    }
                };
            }
        }
        Decision::Allow { rule: None }
    }
}

/// An address as Rust and as Java write it (they differ for IPv6).
fn ip_texts(ip: IpAddr) -> Vec<String> {
    match ip {
        IpAddr::V4(v4) => vec![v4.to_string()],
        IpAddr::V6(v6) => {
            let java: Vec<String> = v6.segments().iter().map(|s| format!("{s:x}")).collect();
            vec![v6.to_string(), java.join(":")]
        }
    }
}

fn parse_rule(item: &str) -> Result<Rule, IpFilterError> {
    let syntax = || IpFilterError::Syntax(item.to_owned());
    let (access, rest) = item.split_once(':').ok_or_else(syntax)?;
    let (kind, pattern) = rest.split_once(':').ok_or_else(syntax)?;
    let allow = match access {
        "allow" => true,
        "deny" => false,
        _ => return Err(syntax()),
    };
    let pattern = pattern.trim();
    if let Some(why) = never_matches(kind, pattern) {
        return Err(IpFilterError::NeverMatches {
            rule: item.to_owned(),
            why,
        });
    }
    let what = match kind {
        "ip" => Match::Ip(glob(item, pattern)?),
        "name" if pattern == "localhost" => Match::Localhost,
        "name" => Match::Name(glob(item, pattern)?),
        _ => return Err(syntax()),
    };
    Ok(Rule {
        allow,
        text: item.to_owned(),
        what,
    })
}

/// Why a `kind` rule with `pattern` can match no peer, if it cannot.
fn never_matches(kind: &str, pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("its pattern is empty".to_owned());
    }
    if kind != "ip" {
        return None;
    }
    if pattern.contains('/') {
        return Some(format!(
            "{pattern:?} looks like a CIDR block, but patterns are globs matched against the \
             address as text (Flume's syntax): write e.g. `10.*` for 10.0.0.0/8"
        ));
    }
    let lower = pattern.to_ascii_lowercase();
    let mapped = ["::ffff:", "0:0:0:0:0:ffff:"]
        .iter()
        .find_map(|p| lower.strip_prefix(p));
    if let Some(v4) = mapped.filter(|v4| v4.contains('.')) {
        return Some(format!(
            "an IPv4-mapped IPv6 peer is matched as its IPv4 address: write {v4:?}"
        ));
    }
    None
}

/// Netty's `PatternRule.addRule`: `.` is a dot, `*` any run, `?` one character; the whole
/// text must match. An empty pattern matches nothing (as in Netty; refused before here).
fn glob(rule: &str, pattern: &str) -> Result<Option<Regex>, IpFilterError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    let mut re = String::with_capacity(pattern.len() + 16);
    re.push_str("^(?:");
    for c in pattern.chars() {
        match c {
            '.' => re.push_str("\\."),
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push(c),
        }
    }
    re.push_str(")$");
    Regex::new(&re)
        .map(Some)
        .map_err(|e| IpFilterError::Pattern {
            rule: rule.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn allowed(d: &Decision) -> bool {
        matches!(d, Decision::Allow { .. })
    }

    #[test]
    fn the_first_matching_rule_wins_and_no_match_allows() {
        let f = IpFilter::parse("allow:ip:127.*,deny:ip:10.0.*, allow:ip:10.*").unwrap();
        assert_eq!(
            f.decide(ip("127.0.0.1"), None),
            Decision::Allow {
                rule: Some("allow:ip:127.*".into())
            }
        );
        assert_eq!(
            f.decide(ip("10.0.3.4"), None),
            Decision::Deny {
                rule: "deny:ip:10.0.*".into()
            }
        );
        assert!(allowed(&f.decide(ip("10.1.3.4"), None)));
        // Nothing matches: allowed, as Netty's RuleBasedIpFilter does.
        assert_eq!(
            f.decide(ip("192.168.1.1"), None),
            Decision::Allow { rule: None }
        );
        // The dot is literal: 127x0 is not 127.0.
        let f = IpFilter::parse("deny:ip:127.0.0.1").unwrap();
        assert!(allowed(&f.decide(ip("127.0.0.10"), None)));
        assert!(!allowed(&f.decide(ip("127.0.0.1"), None)));
    }

    #[test]
    fn name_rules_ask_for_the_name_only_when_reached() {
        let f = IpFilter::parse("allow:ip:192.168.*,deny:name:*.evil.example,allow:ip:*").unwrap();
        assert!(f.has_name_rules());
        assert!(allowed(&f.decide(ip("192.168.0.9"), None)));
        assert_eq!(f.decide(ip("10.9.9.9"), None), Decision::NeedName);
        assert!(!allowed(&f.decide(ip("10.9.9.9"), Some("a.evil.example"))));
        assert!(allowed(&f.decide(ip("10.9.9.9"), Some("good.example"))));
    }

    #[test]
    fn name_localhost_matches_loopback_without_a_lookup() {
        let f = IpFilter::parse("allow:name:localhost,deny:ip:*").unwrap();
        assert!(!f.has_name_rules());
        assert!(allowed(&f.decide(ip("127.0.0.1"), None)));
        assert!(allowed(&f.decide(ip("::1"), None)));
        assert!(!allowed(&f.decide(ip("10.0.0.1"), None)));
    }

    #[test]
    fn ipv6_and_mapped_peers_match_both_spellings() {
        let f = IpFilter::parse("deny:ip:0:0:0:0:0:0:0:1,deny:ip:fe80::*,allow:ip:*").unwrap();
        assert!(!allowed(&f.decide(ip("::1"), None)));
        assert!(!allowed(&f.decide(ip("fe80::1"), None)));
        let f = IpFilter::parse("deny:ip:127.0.0.1").unwrap();
        assert!(!allowed(&f.decide(ip("::ffff:127.0.0.1"), None)));
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule() {
        for bad in [
            "permit:ip:1.2.3.4",
            "allow:host:x",
            "allow:ip",
            "allow",
            "Allow:ip:*",
        ] {
            let e = IpFilter::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert_eq!(IpFilter::parse(" , ").unwrap_err(), IpFilterError::Empty);
        assert!(IpFilter::parse("allow:ip:*,,deny:ip:*").is_err());
        let e = IpFilter::parse("allow:ip:10.(").unwrap_err();
        assert!(matches!(e, IpFilterError::Pattern { .. }), "{e}");
        // Trailing commas are dropped (Java's split).
        let f = IpFilter::parse("deny:ip:1.2.3.4,").unwrap();
        assert!(!allowed(&f.decide(ip("1.2.3.4"), None)));
        // Alternatives in a pattern are regular-expression syntax, as in Netty.
        let f = IpFilter::parse("deny:ip:10.0.0.(1|2)").unwrap();
        assert!(!allowed(&f.decide(ip("10.0.0.2"), None)));
        assert!(allowed(&f.decide(ip("10.0.0.3"), None)));
    }

    #[test]
    fn rules_that_can_never_match_are_refused_naming_the_rule_and_the_fix() {
        for (bad, hint) in [
            ("deny:ip:", "empty"),
            ("deny:name: ", "empty"),
            ("deny:ip:10.0.0.0/8", "`10.*`"),
            ("allow:ip:127.0.0.1/32,deny:ip:*", "CIDR"),
            ("deny:ip:::ffff:10.1.2.3", "\"10.1.2.3\""),
            ("deny:ip:0:0:0:0:0:FFFF:10.1.2.3", "IPv4 address"),
        ] {
            let e = IpFilter::parse(bad).unwrap_err();
            assert!(
                matches!(e, IpFilterError::NeverMatches { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains(hint), "{bad}: {e}");
        }
        // A mapped peer is matched as its IPv4 address, the form the log prints.
        let f = IpFilter::parse("deny:ip:10.1.2.3").unwrap();
        assert!(!allowed(&f.decide(ip("::ffff:10.1.2.3"), None)));
        // IPv6 patterns that are not mapped IPv4 stay as they are.
        assert!(IpFilter::parse("deny:ip:::ffff:*").is_ok());
    }
}
