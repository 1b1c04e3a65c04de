//! Logging set-up shared by the subcommands: `tracing` to stderr and/or a file, the level from
//! `RUST_LOG` or Flume's `-Dflume.root.logger`, the layout from `-Dflume.log.format`.

mod format;
mod spec;

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::EnvFilter;

pub use spec::{LogFormat, LogSpec};

/// Installs a stderr subscriber in the default layout; `RUST_LOG` wins over `default_level`.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Installs the subscriber `spec` describes (`RUST_LOG`, when set and valid, wins over its
/// level), then logs the spec's warnings through it. Fails only when the log file cannot be
/// opened.
pub fn init_spec(spec: &LogSpec) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(spec.level));
    let file = match &spec.file {
        None => None,
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the log directory {}", dir.display()))?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the log file {}", path.display()))?;
            Some(Mutex::new(f))
        }
    };
    let ansi = file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let writer = match (spec.console, file) {
        (_, None) => BoxMakeWriter::new(std::io::stderr),
        (false, Some(f)) => BoxMakeWriter::new(f),
        (true, Some(f)) => BoxMakeWriter::new(std::io::stderr.and(f)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let _ = match spec.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Flume => builder.event_format(format::FlumeFormat).try_init(),
        LogFormat::Json => builder.event_format(format::JsonFormat).try_init(),
    };
    for w in &spec.warnings {
        tracing::warn!("{w}");
    }
    if let Some(path) = &spec.file {
        tracing::info!(
            "logging to {} (appended, never rolled by Sluice: rotate it with logrotate's copytruncate)",
            path.display()
        );
    }
    Ok(())
}
