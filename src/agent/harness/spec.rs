//! The test file format of `sluice test` (TOML; docs/testing-configs.md):
//!
//! ```toml
//! agent = "a1"                       # optional; `sluice test -n` wins
//!
//! [[tests]]
//! name = "errors go to the error channel"
//! source = "r1"
//! dropped = 0                        # optional: inputs that reached no channel
//!
//! [[tests.inputs]]
//! body = "ERROR disk full"
//! headers = { host = "web1" }
//!
//! [[tests.outputs]]
//! channel = "c_err"                  # or: sink = "k1"
//! count = 1                          # optional
//! every = { headers = { level = "ERROR" } }      # optional: every event matches
//! events = [ { body_regex = "^ERROR" } ]         # optional: exactly these, in order
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// Most tests in one file.
pub(crate) const TESTS_MAX: usize = 1_000;
/// Most input events of one test.
pub(crate) const INPUTS_MAX: usize = 10_000;
/// Longest test file read, in bytes.
pub(crate) const FILE_BYTES_MAX: usize = 16 << 20;

/// A parsed test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The agent name, when the command line does not give one.
    pub agent: Option<String>,
    /// The tests, in order.
    #[serde(default)]
    pub tests: Vec<Case>,
}

/// One test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Its name (printed with each result).
    pub name: String,
    /// The source the inputs are injected at (its interceptors and selector run).
    pub source: String,
    /// Expected number of inputs that reached no channel (dropped by an interceptor, or
    /// selected no channel); not checked when absent.
    pub dropped: Option<usize>,
    /// The events injected, as one batch, in order.
    #[serde(default)]
    pub inputs: Vec<Input>,
    /// What the channels and sinks must receive.
    #[serde(default)]
    pub outputs: Vec<Expect>,
}

/// An injected event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Its body (UTF-8 text).
    #[serde(default)]
    pub body: String,
    /// Its headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// What one channel or sink must receive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A channel: every event committed into it.
    pub channel: Option<String>,
    /// A sink: every event it took from its channel.
    pub sink: Option<String>,
    /// Exactly this many events (with `events`, defaults to its length).
    pub count: Option<usize>,
    /// Every event matches this.
    pub every: Option<Matcher>,
    /// Exactly these events, in order.
    pub events: Option<Vec<Matcher>>,
}

impl Expect {
    /// `channel c1` or `sink k1`.
    pub(crate) fn component(&self) -> String {
        match (&self.channel, &self.sink) {
            (Some(c), _) => format!("channel {c}"),
            (None, Some(s)) => format!("sink {s}"),
            (None, None) => "nothing".to_owned(),
        }
    }
}

/// Conditions on one event; all given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The body, exactly.
    pub body: Option<String>,
    /// A regular expression found in the body (anchor it with `^...$` for the whole).
    pub body_regex: Option<String>,
    /// Headers with exactly these values.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values match these regular expressions (so: present).
    #[serde(default)]
    pub headers_regex: BTreeMap<String, String>,
    /// Headers that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
}

/// A test file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not TOML of this format.
    #[error("{0}")]
    Syntax(String),
    /// Valid TOML that asks for something impossible.
    #[error("test {test:?}: {what}")]
    Invalid {
        /// The test.
        test: String,
        /// What is wrong.
        what: String,
    },
}

fn invalid(test: &str, what: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        test: test.to_owned(),
        what: what.into(),
    }
}

impl TestFile {
    /// Parses and validates a test file's text.
    pub fn parse(text: &str) -> Result<TestFile, SpecError> {
        if text.len() > FILE_BYTES_MAX {
            return Err(SpecError::Syntax(format!(
                "the file has {} bytes, more than {FILE_BYTES_MAX}",
                text.len()
            )));
        }
        let f: TestFile = toml::from_str(text).map_err(|e| SpecError::Syntax(e.to_string()))?;
        if f.tests.is_empty() {
            return Err(SpecError::Syntax("no [[tests]]".into()));
        }
        if f.tests.len() > TESTS_MAX {
            return Err(SpecError::Syntax(format!(
                "{} tests, more than {TESTS_MAX}",
                f.tests.len()
            )));
        }
        for t in &f.tests {
            if t.inputs.len() > INPUTS_MAX {
                return Err(invalid(&t.name, format!("more than {INPUTS_MAX} inputs")));
            }
            for o in &t.outputs {
                if o.channel.is_some() == o.sink.is_some() {
                    return Err(invalid(
                        &t.name,
                        "each output names one channel or one sink",
                    ));
                }
                let matchers = o.every.iter().chain(o.events.iter().flatten());
                for m in matchers {
                    let regexes = m.body_regex.iter().chain(m.headers_regex.values());
                    for r in regexes {
                        if let Err(e) = regex::Regex::new(r) {
                            return Err(invalid(&t.name, format!("invalid regex {r:?}: {e}")));
                        }
                    }
                }
            }
        }
        Ok(f)
    }
}
