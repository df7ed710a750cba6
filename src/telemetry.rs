//! Logs: `RUST_LOG` picks what is shown (default `info`), written to stderr so
//! `guanjia classify` keeps stdout for its JSON.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// `default` applies when RUST_LOG is unset: `info` for the daemon, `warn` for
/// interactive commands whose output is the point.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours on a terminal only: in a log file they are escape codes.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
