//! Logging set-up shared by the subcommands: `tracing` to stderr, level from `RUST_LOG` or a
//! given default.

use tracing_subscriber::EnvFilter;

/// Installs a stderr subscriber; `RUST_LOG` wins over `default_level`.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
