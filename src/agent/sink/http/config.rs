//! The `http` sink's settings: its keys with Flume's defaults, and the decision each answer's
//! status code gets from the `rollback.CODE` / `backoff.CODE` / `incrementMetrics.CODE` rules
//! (an exact code wins over its class, then the defaults; a 400 or 413 no rollback rule names
//! makes the event poison).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::agent::config::ctx::Ctx;
use crate::agent::config::limits::DURATION_MS_MAX;

/// Status codes that refuse the event itself (unless a `rollback.CODE` rule names them).
pub(crate) const POISON_CODES: [u16; 2] = [400, 413];

/// What to do for a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Roll the take back (the event is sent again).
    pub rollback: bool,
    /// Back off before the next attempt.
    pub backoff: bool,
    /// Count the event as drained in the metrics.
    pub increment_metrics: bool,
}

/// `http` sink settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// `endpoint`: an `http://` or `https://` URL.
    pub endpoint: String,
    /// `connectTimeout` (default 5000 ms).
    pub connect_timeout: Duration,
    /// `requestTimeout` (default 5000 ms).
    pub request_timeout: Duration,
    /// `contentTypeHeader` (default `text/plain`).
    pub content_type: String,
    /// `acceptHeader` (default `text/plain`).
    pub accept: String,
    /// `defaultBackoff` (default true).
    pub default_backoff: bool,
    /// `defaultRollback` (default true).
    pub default_rollback: bool,
    /// `defaultIncrementMetrics` (default false).
    pub default_increment_metrics: bool,
    /// `backoff.CODE`, `rollback.CODE`, `incrementMetrics.CODE`: (kind, code) -> value.
    pub rules: BTreeMap<(String, String), bool>,
}

impl HttpConfig {
    fn rule(&self, kind: &str, code: u16) -> Option<bool> {
        let exact = code.to_string();
        let class = format!("{}XX", code / 100);
        self.rules
            .get(&(kind.to_owned(), exact))
            .or_else(|| self.rules.get(&(kind.to_owned(), class)))
            .copied()
    }

    /// Whether an answer `code` makes the event poison: a code of [`POISON_CODES`] that no
    /// `rollback` rule names.
    pub(crate) fn poisons(&self, code: u16) -> bool {
        POISON_CODES.contains(&code) && self.rule("rollback", code).is_none()
    }

    /// The decision for a status code.
    pub(crate) fn decide(&self, code: u16) -> Decision {
        let ok = (200..300).contains(&code);
        Decision {
            rollback: self
                .rule("rollback", code)
                .unwrap_or(!ok && self.default_rollback),
            backoff: self
                .rule("backoff", code)
                .unwrap_or(!ok && self.default_backoff),
            increment_metrics: self
                .rule("incrementMetrics", code)
                .unwrap_or(ok || self.default_increment_metrics),
        }
    }
}

/// Reads an `http` sink's properties.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<HttpConfig> {
    let endpoint = cx
        .required("endpoint")
        .and_then(|e| match e.parse::<hyper::Uri>() {
            Ok(u)
                if matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some() =>
            {
                Some(e)
            }
            _ => {
                cx.error(
                    "endpoint",
                    format!("expected an http:// or https:// URL, got {e:?}"),
                );
                None
            }
        });
    let mut rules = BTreeMap::new();
    let keys: Vec<String> = cx.comp().props.keys().cloned().collect();
    for k in keys {
        let Some((kind, code)) = k.split_once('.') else {
            continue;
        };
        if !matches!(kind, "backoff" | "rollback" | "incrementMetrics") {
            continue;
        }
        let valid = code.len() == 3
            && code.as_bytes()[0].is_ascii_digit()
            && (code[1..].eq_ignore_ascii_case("XX")
                || code[1..].bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            cx.get(&k);
            cx.error(&k, format!("expected a status code like 503 or a class like 5XX after {kind}., got {code:?}"));
            continue;
        }
        let v = cx.bool(&k, false);
        rules.insert((kind.to_owned(), code.to_ascii_uppercase()), v);
    }
    // Every key is read before a refused endpoint ends the build (fields run in order).
    Some(HttpConfig {
        connect_timeout: Duration::from_millis(cx.u64("connectTimeout", 5000, 1, DURATION_MS_MAX)),
        request_timeout: Duration::from_millis(cx.u64("requestTimeout", 5000, 1, DURATION_MS_MAX)),
        content_type: cx
            .get("contentTypeHeader")
            .unwrap_or_else(|| "text/plain".into()),
        accept: cx
            .get("acceptHeader")
            .unwrap_or_else(|| "text/plain".into()),
        default_backoff: cx.bool("defaultBackoff", true),
        default_rollback: cx.bool("defaultRollback", true),
        default_increment_metrics: cx.bool("defaultIncrementMetrics", false),
        rules,
        endpoint: endpoint?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rules: &[(&str, &str, bool)]) -> HttpConfig {
        HttpConfig {
            endpoint: "http://127.0.0.1:1/".into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            content_type: "text/plain".into(),
            accept: "text/plain".into(),
            default_backoff: true,
            default_rollback: true,
            default_increment_metrics: false,
            rules: rules
                .iter()
                .map(|(k, c, v)| ((k.to_string(), c.to_string()), *v))
                .collect(),
        }
    }

    #[test]
    fn an_exact_code_rule_wins_over_its_class_and_the_defaults() {
        let c = cfg(&[
            ("rollback", "4XX", false),
            ("rollback", "429", true),
            ("backoff", "4XX", false),
        ]);
        assert!(!c.decide(400).rollback);
        assert!(c.decide(429).rollback);
        assert!(!c.decide(404).backoff);
        assert!(
            c.decide(503).rollback && c.decide(503).backoff,
            "defaults for 5XX"
        );
        let ok = c.decide(200);
        assert!(!ok.rollback && !ok.backoff && ok.increment_metrics);
        let c = cfg(&[("rollback", "2XX", true)]);
        assert!(c.decide(204).rollback, "a rule can make even 2XX roll back");
    }

    #[test]
    fn a_400_or_413_poisons_the_event_unless_a_rollback_rule_names_it() {
        let c = cfg(&[]);
        assert!(c.poisons(400) && c.poisons(413));
        assert!(!c.poisons(404) && !c.poisons(503) && !c.poisons(200));
        assert!(!cfg(&[("rollback", "400", true)]).poisons(400));
        assert!(!cfg(&[("rollback", "4XX", false)]).poisons(413));
        assert!(cfg(&[("backoff", "4XX", false)]).poisons(413));
    }
}
