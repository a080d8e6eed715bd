//! Integrations: a workspace's connections to outside services (one per
//! provider name): OAuth providers, and MCP servers whose tools agents call
//! (connected through `crate::tool::servers`). Their tokens are sealed at
//! rest with `ATELYA_SECRET_KEY` (the row id as associated data, so a token
//! copied into another row does not open); no API returns them and no log
//! prints them. Reconnecting a provider replaces its tokens and scopes.

pub mod graphql;
pub mod service;

use async_graphql::Enum;

use crate::text_enum::text_enum;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    /// Stored OAuth tokens for a provider.
    Oauth,
    /// A Model Context Protocol server (Streamable HTTP) whose tools agents may call.
    Mcp,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationStatus {
    Connected,
    /// The last attempt to reach it failed (lastError).
    Failing,
}

text_enum!(IntegrationKind { Oauth => "OAUTH", Mcp => "MCP" });
text_enum!(IntegrationStatus { Connected => "CONNECTED", Failing => "FAILING" });
