//! The process's log: text for people or JSON lines for machines
//! (`ATELYA_LOG_FORMAT`), filtered by `RUST_LOG` (`info` by default).
//!
//! Every line carries the fields of the spans it was written in, so a line
//! written while serving a request names its `request_id` (and, for GraphQL,
//! its `operation`). Colours are used only when the output is a terminal, so
//! a log file or a collector never sees escape codes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's
    /// fields (`message` among them), and `spans`, the enclosing spans' fields.
    Json,
}

/// Installs the global subscriber; call once, first thing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}
