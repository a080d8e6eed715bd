//! Tools: what agents use to act on the world, and where they come from.
//!
//! - `registry`: a workspace's tools (the built-in ones, then those of its
//!   connected MCP servers) with the workspace's policy applied to each.
//! - `builtin`: the built-in tools, offline and deterministic (`web.fetch`
//!   only when the server allows it).
//! - `arguments`: checking a call's arguments against the tool's JSON Schema.
//! - `policy`: `setToolPolicy` (owners and admins): enable, disable, approval.
//! - `calls`: the `ToolCall` rows of tasks and their states.
//! - `secrets`: leaving credentials out of what the activity log shows of arguments.
//! - `mcp`: the Model Context Protocol client (Streamable HTTP) that lists
//!   and calls an MCP server's tools.
//! - `servers`: connecting MCP servers as integrations and reading their tools.
//! - `graphql`: `Tool`, `ToolCall`, `setToolPolicy`, `connectMcpServer`,
//!   `refreshIntegrationTools`.

pub mod arguments;
pub mod builtin;
pub mod calls;
pub mod graphql;
pub mod mcp;
pub mod policy;
pub mod registry;
pub mod secrets;
pub mod servers;

use async_graphql::Enum;

pub use entity::enums::ToolCallState;

/// Most bytes of a call's result that are kept (the rest is cut, and says so).
pub const RESULT_MAX_BYTES: usize = 64 * 1024;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolSource {
    Builtin,
    Mcp,
}

impl ToolSource {
    /// Its name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            ToolSource::Builtin => "builtin",
            ToolSource::Mcp => "mcp",
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary, saying so when cut.
pub fn bounded(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    const NOTE: &str = "\n[cut: the result was longer]";
    let mut end = max.saturating_sub(NOTE.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text;
    cut.truncate(end);
    cut.push_str(NOTE);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_cut_at_a_character_boundary_within_the_bound() {
        assert_eq!(bounded("short".into(), 100), "short");
        let long = "é".repeat(100);
        let cut = bounded(long, 64);
        assert!(cut.len() <= 64, "{}", cut.len());
        assert!(cut.ends_with("[cut: the result was longer]"));
        assert!(cut.starts_with('é'));
    }
}
