//! Configuration problems: a severity, the file line and the full key they are about. A
//! configuration may be read from several files (`-f` repeated, `--conf-uri`, ZooKeeper): an
//! [`Origin`] names the file by its index, and [`Problem::render_in`] by its name.

use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The key is ignored or a default is used; the agent still runs.
    Warning,
    /// The configuration cannot run as written.
    Error,
}

/// Where a key came from. The order is the order of reading: the first file's lines, each
/// later file's, then the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A line (1-based) of the first (usually the only) configuration file.
    Line(usize),
    /// A line of a later file: `file` is its index among the files read (never 0: a line of
    /// the first file is always [`Origin::Line`], see [`Origin::at`]).
    FileLine {
        /// The file's index (1 for the second `-f`).
        file: u16,
        /// The line (1-based).
        line: usize,
    },
    /// A `-Dkey=value` override on the command line.
    CommandLine,
}

impl Origin {
    /// Line `line` of file number `file` (0 the first).
    pub(crate) fn at(file: u16, line: usize) -> Origin {
        match file {
            0 => Origin::Line(line),
            file => Origin::FileLine { file, line },
        }
    }

    /// The file's index, when the origin is a line of a file.
    pub(crate) fn file(&self) -> Option<u16> {
        match self {
            Origin::Line(_) => Some(0),
            Origin::FileLine { file, .. } => Some(*file),
            Origin::CommandLine => None,
        }
    }

    /// `NAME:LINE` with the file's name out of `names` (the files in reading order), or `-D`.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |i: u16| names.get(usize::from(i)).map_or("?", String::as_str);
        match self {
            Origin::Line(n) => format!("{}:{n}", name(0)),
            Origin::FileLine { file, line } => format!("{}:{line}", name(*file)),
            Origin::CommandLine => "-D".to_owned(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "{n}"),
            Origin::FileLine { file, line } => write!(f, "{line} of file {}", file + 1),
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
    pub(crate) fn error(
        origin: Origin,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Error,
            origin,
            key: key.into(),
            message: message.into(),
        }
    }

    /// A warning.
    pub(crate) fn warning(
        origin: Origin,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
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

    /// [`Problem::render`] for a configuration read from several files: `names` in reading
    /// order; a line names its own file, a `-D` override the first.
    pub fn render_in(&self, names: &[String]) -> String {
        let tag = match self.severity {
            Severity::Warning => "warning: ",
            Severity::Error => "",
        };
        let at = match self.origin {
            Origin::CommandLine => format!("{}:-D", names.first().map_or("?", String::as_str)),
            o => o.describe(names),
        };
        format!("{at}: {}: {tag}{}", self.key, self.message)
    }
}

/// True when any problem is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}
