//! Logging set-up shared by the subcommands: `tracing` to stderr and/or a file, the level from
//! `RUST_LOG` or Flume's `-Dflume.root.logger`, the layout from `-Dflume.log.format` (with
//! `flume`, the console gets Flume's console layout and the file its LOGFILE layout, as
//! Flume's log4j configuration has them).

mod format;
mod spec;

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use spec::{LogFormat, LogSpec};

/// Installs a stderr subscriber in the default layout; `RUST_LOG` wins over `default_level`.
/// A line that cannot be written (a closed pipe) is dropped without a complaint.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .try_init();
}

/// One appender's layer, whatever its layout.
type BoxedLayer = Box<dyn Layer<Layered<EnvFilter, Registry>> + Send + Sync>;

/// A layer writing to `writer` in `format`; `console` picks Flume's console layout over its
/// LOGFILE layout. Lines that cannot be written (a closed pipe, a full disk) are dropped
/// without tracing's complaint on stderr, which would panic on a closed stderr.
fn layer<W>(writer: W, format: LogFormat, console: bool, ansi: bool) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .log_internal_errors(false);
    match (format, console) {
        (LogFormat::Text, _) => Box::new(base),
        (LogFormat::Flume, true) => Box::new(base.event_format(format::FlumeConsoleFormat)),
        (LogFormat::Flume, false) => Box::new(base.event_format(format::FlumeFormat)),
        (LogFormat::Json, _) => Box::new(base.event_format(format::JsonFormat)),
    }
}

/// Installs the subscriber `spec` describes (`RUST_LOG`, when set and valid, wins over its
/// level): one layer per appender (the console on stderr, the log file), each in its own
/// layout, then logs the spec's warnings through it. Fails only when the log file cannot be
/// opened.
pub fn init_spec(spec: &LogSpec) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(spec.level));
    let mut layers: Vec<BoxedLayer> = Vec::new();
    if spec.console {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        layers.push(layer(std::io::stderr, spec.format, true, ansi));
    }
    if let Some(path) = &spec.file {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the log directory {}", dir.display()))?;
        }
        // The log file is appended to, never through a planted link (O_NOFOLLOW).
        let f = sluice::agent::nofollow::open(path, OpenOptions::new().create(true).append(true))
            .with_context(|| format!("opening the log file {}", path.display()))?;
        layers.push(layer(Mutex::new(f), spec.format, false, false));
    }
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init();
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
