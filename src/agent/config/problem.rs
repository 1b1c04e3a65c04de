//! Configuration problems: a severity, the file line and the full key they are about.

use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The key is ignored or a default is used; the agent still runs.
    Warning,
    /// The configuration cannot run as written.
    Error,
}

/// Where a key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A line of the configuration file (1-based).
    Line(usize),
    /// A `-Dkey=value` override on the command line.
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "{n}"),
            Origin::CommandLine => f.write_str("-D"),
        }
    }
}

/// One problem found in a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Warning or error.
    pub severity: Severity,
    /// Where the key is.
    pub origin: Origin,
    /// The full key (`a1.sinks.k1.sink.batchSize`).
    pub key: String,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl Problem {
    /// An error.
    pub fn error(origin: Origin, key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            origin,
            key: key.into(),
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(origin: Origin, key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            origin,
            key: key.into(),
            message: message.into(),
        }
    }

    /// `FILE:LINE: key: message` (with `warning: ` before the message for warnings).
    pub fn render(&self, file: &str) -> String {
        let tag = match self.severity {
            Severity::Warning => "warning: ",
            Severity::Error => "",
        };
        format!(
            "{file}:{}: {}: {tag}{}",
            self.origin, self.key, self.message
        )
    }
}

/// True when any problem is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}
