//! Logs: `RUST_LOG` picks what is shown (default `info`), written to stderr so
//! `guanjia classify` keeps stdout for its JSON. `[log] format = "json"` writes
//! one JSON object per line, for log shippers.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

use crate::configuration::LogFormat;

/// `default` applies when RUST_LOG is unset: `info` for the daemon, `warn` for
/// interactive commands whose output is the point.
pub fn init(default: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colours on a terminal only: in a log file they are escape codes.
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        // Event fields at the top level, where shippers look for them.
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
