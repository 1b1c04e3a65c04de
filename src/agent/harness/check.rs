//! Compares what arrived ([`Delivered`]) with a case's expectations. Every difference is a
//! [`Failure`] naming the test, the component, the event (as JSON) and a diff: `-` lines say
//! what was expected, `+` lines what arrived.

use super::run::Delivered;
use super::spec::{Case, Expect, Matcher};
use sluice_core::Event;

/// Events listed with a count mismatch, at most.
pub(crate) const EVENTS_SHOWN_MAX: usize = 10;

/// One unmet expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The test's name.
    pub test: String,
    /// `channel c1`, `sink k1` or `source r1` (for `dropped`).
    pub component: String,
    /// What did not hold.
    pub what: String,
    /// The events concerned, as JSON.
    pub events: Vec<String>,
    /// `- expected` / `+ actual` lines.
    pub diff: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "FAIL {:?}: {}: {}", self.test, self.component, self.what)?;
        for e in &self.events {
            writeln!(f, "  event: {e}")?;
        }
        for d in &self.diff {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

/// An event as one line of JSON (the body as text, invalid UTF-8 replaced).
pub(crate) fn render(e: &Event) -> String {
    serde_json::json!({
        "headers": e.headers.to_map(),
        "body": String::from_utf8_lossy(&e.body),
    })
    .to_string()
}

/// The differences between `m` and `e` (empty when it matches).
fn diff(m: &Matcher, e: &Event) -> Vec<String> {
    let mut d = Vec::new();
    let body = String::from_utf8_lossy(&e.body);
    if let Some(want) = &m.body {
        if *want != body {
            d.push(format!("- body: {want:?}"));
            d.push(format!("+ body: {body:?}"));
        }
    }
    if let Some(re) = &m.body_regex {
        if !regex::Regex::new(re).is_ok_and(|r| r.is_match(&body)) {
            d.push(format!("- body matching /{re}/"));
            d.push(format!("+ body: {body:?}"));
        }
    }
    for (k, want) in &m.headers {
        let got = e.headers.get(k);
        if got != Some(want) {
            d.push(format!("- header {k}: {want:?}"));
            d.push(format!("+ header {k}: {}", shown(got)));
        }
    }
    for (k, re) in &m.headers_regex {
        let got = e.headers.get(k);
        if !got.is_some_and(|v| regex::Regex::new(re).is_ok_and(|r| r.is_match(v))) {
            d.push(format!("- header {k} matching /{re}/"));
            d.push(format!("+ header {k}: {}", shown(got)));
        }
    }
    for k in &m.headers_absent {
        if let Some(v) = e.headers.get(k) {
            d.push(format!("- no header {k}"));
            d.push(format!("+ header {k}: {v:?}"));
        }
    }
    d
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "(absent)".to_owned(), |v| format!("{v:?}"))
}

fn expect(case: &Case, o: &Expect, got: &[Event], out: &mut Vec<Failure>) {
    let fail = |what: String, events: Vec<String>, diff: Vec<String>| Failure {
        test: case.name.clone(),
        component: o.component(),
        what,
        events,
        diff,
    };
    let want = o.count.or(o.events.as_ref().map(Vec::len));
    if let Some(n) = want.filter(|n| *n != got.len()) {
        let shown = got.iter().take(EVENTS_SHOWN_MAX).map(render).collect();
        out.push(fail(
            format!("expected {n} events, received {}", got.len()),
            shown,
            Vec::new(),
        ));
        return;
    }
    if let Some(m) = &o.every {
        for (i, e) in got.iter().enumerate() {
            let d = diff(m, e);
            if !d.is_empty() {
                let what = format!("event {} of {} (every)", i + 1, got.len());
                out.push(fail(what, vec![render(e)], d));
            }
        }
    }
    for (i, (m, e)) in o.events.iter().flatten().zip(got).enumerate() {
        let d = diff(m, e);
        if !d.is_empty() {
            let what = format!("event {} of {}", i + 1, got.len());
            out.push(fail(what, vec![render(e)], d));
        }
    }
}

/// Every unmet expectation of `case` given what arrived.
pub fn check(case: &Case, got: &Delivered) -> Vec<Failure> {
    let mut out = Vec::new();
    if let Some(want) = case.dropped {
        let what = match got.dropped {
            Some(n) if n == want => None,
            Some(n) => Some(format!(
                "expected {want} inputs to reach no channel, {n} did"
            )),
            None => Some(
                "an interceptor removed the header sluice.test.input; drops cannot be counted"
                    .into(),
            ),
        };
        if let Some(what) = what {
            out.push(Failure {
                test: case.name.clone(),
                component: format!("source {}", case.source),
                what,
                events: Vec::new(),
                diff: Vec::new(),
            });
        }
    }
    for o in &case.outputs {
        let got = match (&o.channel, &o.sink) {
            (Some(c), _) => got.channels.get(c),
            (None, Some(s)) => got.sinks.get(s),
            (None, None) => None,
        };
        expect(case, o, got.map_or(&[][..], Vec::as_slice), &mut out);
    }
    out
}
