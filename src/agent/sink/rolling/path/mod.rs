//! Flume's `BucketPath` escapes for `hdfs.path` and `hdfs.filePrefix`, as a pure function of
//! a template, an event's headers, a timestamp, a time zone and the host's names.
//!
//! `%{name}` is a header (empty when absent); `%[localhost]`, `%[IP]`, `%[FQDN]` the host;
//! `%%` a percent sign; `%t` the timestamp in ms, `%s` in seconds; `%a %A %b %B %c %d %D %e
//! %H %I %j %k %l %m %M %n %p %S %y %Y %z` the fields of Java's `SimpleDateFormat` that
//! Flume maps them to (English names). With `hdfs.round` the timestamp is first rounded down
//! to a multiple of `roundValue` seconds, minutes or hours of the wall clock in the zone.
//! Header values are confined to the component they fill ([`super::confine`]): `/`, control
//! characters and `.`/`..` components from an event are percent-encoded.

use sluice_core::Headers;

use chrono::{DateTime, FixedOffset};

use super::confine::{Confined, PathBuilder};

mod time;

use time::time_field;
pub use time::{event_time, round_down, RoundUnit, Rounding, Zone};

/// The host's names for `%[localhost]`, `%[IP]`, `%[FQDN]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostNames {
    /// `%[localhost]`: the host name.
    pub localhost: String,
    /// `%[IP]`: the host's address.
    pub ip: String,
    /// `%[FQDN]`: the fully qualified name (the host name when it cannot be resolved).
    pub fqdn: String,
}

impl HostNames {
    /// The names of this machine (looked up once, when the sink starts).
    pub fn detect() -> HostNames {
        use std::net::ToSocketAddrs;
        let localhost = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        let addrs: Vec<std::net::IpAddr> = (localhost.as_str(), 0)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default();
        let ip = addrs
            .iter()
            .find(|a| a.is_ipv4() && !a.is_loopback())
            .or_else(|| addrs.iter().find(|a| !a.is_loopback()))
            .or_else(|| addrs.first())
            .map(|a| a.to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        HostNames {
            fqdn: localhost.clone(),
            localhost,
            ip,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Lit(String),
    Header(String),
    Time(char),
    Host(HostKey),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostKey {
    Localhost,
    Ip,
    Fqdn,
}

/// The time escapes Flume knows.
const TIME_ESCAPES: &str = "aAbBcdDeHIjklmMnpsStyYz";

/// A parsed path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTemplate {
    tokens: Vec<Token>,
}

/// Why a template cannot be rendered for an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    /// A time escape without a usable `timestamp` header.
    /// (The sink's messages add the fix, naming its key as the user writes it.)
    #[error("the path uses time escapes but the event's timestamp header is {0}")]
    NoTimestamp(&'static str),
}

/// A path template that cannot be parsed; it says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `%{` or `%[` without its closing bracket.
    #[error("unclosed {open} at byte {at}")]
    Unclosed {
        /// `%{` or `%[`.
        open: &'static str,
        /// Where it starts.
        at: usize,
    },
    /// A header name with characters other than letters, digits and `_.-`.
    #[error("bad header name {name:?} in %{{...}} at byte {at}")]
    BadHeader {
        /// The name.
        name: String,
        /// Where.
        at: usize,
    },
    /// `%[...]` naming no host key.
    #[error("unknown %[{key}] at byte {at}; supported: %[localhost], %[IP], %[FQDN]")]
    UnknownHost {
        /// What was written.
        key: String,
        /// Where.
        at: usize,
    },
    /// An escape letter that is no time escape.
    #[error("unknown escape %{escape} at byte {at}; supported: %{{header}}, %[localhost], %[IP], %[FQDN], %% and %{}", TIME_ESCAPES.chars().map(String::from).collect::<Vec<_>>().join(" %"))]
    UnknownEscape {
        /// The letter.
        escape: char,
        /// Where.
        at: usize,
    },
    /// `%` as the last character.
    #[error("a lone % at the end (byte {at}); write %% for a percent sign")]
    LonePercent {
        /// Where.
        at: usize,
    },
}

impl PathTemplate {
    /// Parses a template; an unknown escape is an error naming it.
    pub fn parse(s: &str) -> Result<PathTemplate, TemplateError> {
        let mut tokens = Vec::new();
        let mut lit = String::new();
        let mut it = s.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let tok = match it.next() {
                Some((_, '%')) => {
                    lit.push('%');
                    continue;
                }
                Some((_, '{')) => {
                    let rest = &s[i + 2..];
                    let end = rest
                        .find('}')
                        .ok_or(TemplateError::Unclosed { open: "%{", at: i })?;
                    let name = &rest[..end];
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_alphanumeric() || "_.-".contains(c))
                    {
                        return Err(TemplateError::BadHeader {
                            name: name.to_owned(),
                            at: i,
                        });
                    }
                    for _ in 0..=end {
                        it.next();
                    }
                    Token::Header(name.to_owned())
                }
                Some((_, '[')) => {
                    let rest = &s[i + 2..];
                    let end = rest
                        .find(']')
                        .ok_or(TemplateError::Unclosed { open: "%[", at: i })?;
                    let key = match &rest[..end] {
                        k if k.eq_ignore_ascii_case("localhost") => HostKey::Localhost,
                        k if k.eq_ignore_ascii_case("IP") => HostKey::Ip,
                        k if k.eq_ignore_ascii_case("FQDN") => HostKey::Fqdn,
                        k => {
                            return Err(TemplateError::UnknownHost {
                                key: k.to_owned(),
                                at: i,
                            })
                        }
                    };
                    for _ in 0..=end {
                        it.next();
                    }
                    Token::Host(key)
                }
                Some((_, t)) if TIME_ESCAPES.contains(t) => Token::Time(t),
                Some((_, t)) => return Err(TemplateError::UnknownEscape { escape: t, at: i }),
                None => return Err(TemplateError::LonePercent { at: i }),
            };
            if !lit.is_empty() {
                tokens.push(Token::Lit(std::mem::take(&mut lit)));
            }
            tokens.push(tok);
        }
        if !lit.is_empty() {
            tokens.push(Token::Lit(lit));
        }
        Ok(PathTemplate { tokens })
    }

    /// Whether rendering needs a timestamp.
    pub fn needs_time(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Time(_)))
    }

    /// Whether rendering reads the event's headers (`%{header}`); without them the output
    /// depends only on the timestamp.
    pub fn uses_headers(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::Header(_)))
    }

    /// The literal text before the first escape.
    pub fn literal_prefix(&self) -> &str {
        match self.tokens.first() {
            Some(Token::Lit(s)) => s,
            _ => "",
        }
    }

    /// Renders the template for one event, header values confined to their component
    /// ([`super::confine`]): as a directory path, or as one file name with `one_name`,
    /// reporting what the headers made of it. `ts_ms` is the event's time (already chosen
    /// from the header or the clock); it is rounded here when `round` is set.
    pub fn render_confined(
        &self,
        headers: &Headers,
        ts_ms: Option<i64>,
        zone: Zone,
        round: Option<Rounding>,
        host: &HostNames,
        one_name: bool,
    ) -> Result<Confined, EscapeError> {
        let mut out = PathBuilder::new(one_name);
        let mut time: Option<DateTime<FixedOffset>> = None;
        let ts = ts_ms.map(|t| round.map_or(t, |r| round_down(t, r, zone)));
        for tok in &self.tokens {
            match tok {
                Token::Lit(s) => out.trusted(s),
                Token::Header(h) => {
                    if let Some(v) = headers.get(h) {
                        out.from_event(&format!("%{{{h}}}"), v);
                    }
                }
                Token::Host(HostKey::Localhost) => out.escaped(&host.localhost),
                Token::Host(HostKey::Ip) => out.escaped(&host.ip),
                Token::Host(HostKey::Fqdn) => out.escaped(&host.fqdn),
                Token::Time(c) => {
                    let ts = ts.ok_or(EscapeError::NoTimestamp("missing"))?;
                    if time.is_none() {
                        time = Some(
                            zone.at(ts)
                                .ok_or(EscapeError::NoTimestamp("out of range"))?,
                        );
                    }
                    let Some(t) = time.as_ref() else {
                        continue;
                    };
                    out.trusted(&time_field(*c, ts, t));
                }
            }
        }
        Ok(out.finish())
    }
}

#[cfg(test)]
mod tests;
