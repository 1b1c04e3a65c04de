//! Flume's logging options, read from `-D` definitions: `flume.root.logger=LEVEL[,APPENDER...]`
//! (log4j level names; appenders `console`, `LOGFILE`, `DRFA`), `flume.log.dir`,
//! `flume.log.file`, and Sluice's own `flume.log.format=text|flume|json`.
//!
//! A setting Sluice does not understand never silences the log: an unknown level falls back
//! to INFO and an unknown appender to the console, each with one warning.

use std::path::PathBuf;

/// The log4j level names, in the order log4j ranks them.
pub const LOG4J_LEVELS: &str = "OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL";

/// Flume's `flume.log.dir` default.
pub const DEFAULT_LOG_DIR: &str = "./logs";
/// Flume's `flume.log.file` default.
pub const DEFAULT_LOG_FILE: &str = "flume.log";

/// How each log line is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing's compact text (the default).
    Text,
    /// Flume's log4j patterns: on the console `%d (%t) [%p - %l] %m%n`, in the log file
    /// `%d{dd MMM yyyy HH:mm:ss,SSS} %-5p [%t] (%C:%L) - %m%n`.
    Flume,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where the log goes, how it looks, and what to say about the settings once logging works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSpec {
    /// A tracing filter level: `off`, `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'static str,
    /// Write to stderr (`console`).
    pub console: bool,
    /// Append to this file (`LOGFILE`, `DRFA`).
    pub file: Option<PathBuf>,
    /// The line layout.
    pub format: LogFormat,
    /// Warnings about the settings, logged once the subscriber is installed.
    pub warnings: Vec<String>,
}

/// A log4j level name (any case) to a tracing level; `None` if log4j has no such level.
pub fn level(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_uppercase().as_str() {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" | "WARNING" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        "TRACE" | "ALL" => "trace",
        _ => return None,
    })
}

fn define<'a>(defines: &'a [(String, String)], key: &str) -> Option<&'a str> {
    defines
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl LogSpec {
    /// The spec of `-D` definitions (the last of each key wins). `Err` is a usage error.
    pub fn from_defines(defines: &[(String, String)]) -> Result<LogSpec, String> {
        let format = match define(defines, "flume.log.format") {
            None => LogFormat::Text,
            Some(f) => match f.to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "flume" => LogFormat::Flume,
                "json" => LogFormat::Json,
                _ => {
                    return Err(format!(
                        "-Dflume.log.format={f}: expected text, flume or json"
                    ))
                }
            },
        };
        let mut spec = LogSpec {
            level: "info",
            console: false,
            file: None,
            format,
            warnings: Vec::new(),
        };
        let root = define(defines, "flume.root.logger").unwrap_or("INFO,console");
        // log4j tolerates `-Dflume.root.logger==INFO,console` (the value starts with `=`).
        let value = root.trim_start_matches(|c: char| c == '=' || c.is_whitespace());
        let mut parts = value.split(',').map(str::trim);
        let word = parts.next().unwrap_or("");
        if !word.is_empty() {
            match level(word) {
                Some(l) => spec.level = l,
                None => spec.warnings.push(format!(
                    "unknown log level `{word}` in -Dflume.root.logger={root}; logging at INFO \
                     (log4j levels: {LOG4J_LEVELS})"
                )),
            }
        }
        let dir = define(defines, "flume.log.dir").unwrap_or(DEFAULT_LOG_DIR);
        let file = define(defines, "flume.log.file").unwrap_or(DEFAULT_LOG_FILE);
        for appender in parts.filter(|a| !a.is_empty()) {
            match appender.to_ascii_uppercase().as_str() {
                "CONSOLE" => spec.console = true,
                "LOGFILE" | "DRFA" => spec.file = Some(PathBuf::from(dir).join(file)),
                _ => {
                    spec.console = true;
                    spec.warnings.push(format!(
                        "unknown appender `{appender}` in -Dflume.root.logger={root}; logging to \
                         the console (Sluice knows console, LOGFILE and DRFA)"
                    ));
                }
            }
        }
        if spec.file.is_none() {
            spec.console = true;
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(root: &str) -> LogSpec {
        LogSpec::from_defines(&[("flume.root.logger".into(), root.into())]).unwrap()
    }

    #[test]
    fn every_log4j_level_name_maps_to_a_tracing_level() {
        for (word, want) in [
            ("OFF", "off"),
            ("FATAL", "error"),
            ("ERROR", "error"),
            ("WARN", "warn"),
            ("INFO", "info"),
            ("DEBUG", "debug"),
            ("TRACE", "trace"),
            ("ALL", "trace"),
            ("debug", "debug"),
        ] {
            let s = spec(&format!("{word},console"));
            assert_eq!((s.level, s.warnings.len()), (want, 0), "{word}");
        }
    }

    #[test]
    fn a_doubled_equals_sign_is_tolerated_as_log4j_does() {
        let s = spec("=DEBUG,console");
        assert_eq!(s.level, "debug");
        assert!(s.console && s.warnings.is_empty());
    }

    #[test]
    fn an_unknown_level_falls_back_to_info_with_one_warning() {
        let s = spec("VERBOSE,console");
        assert_eq!(s.level, "info");
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("unknown log level `VERBOSE`"));
    }

    #[test]
    fn logfile_writes_under_flume_log_dir_and_an_unknown_appender_falls_back_to_console() {
        let s = LogSpec::from_defines(&[
            ("flume.root.logger".into(), "TRACE,LOGFILE".into()),
            ("flume.log.dir".into(), "/var/log/x".into()),
        ])
        .unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/var/log/x/flume.log")));
        assert!(!s.console);
        let s = spec("INFO,SYSLOG");
        assert!(s.console && s.file.is_none());
        assert!(s.warnings[0].contains("unknown appender `SYSLOG`"));
    }

    #[test]
    fn an_unknown_log_format_is_a_usage_error() {
        let e = LogSpec::from_defines(&[("flume.log.format".into(), "xml".into())]);
        assert_eq!(
            e.unwrap_err(),
            "-Dflume.log.format=xml: expected text, flume or json"
        );
    }
}
