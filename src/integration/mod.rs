//! Integrations: a workspace's connections to outside services (one per
//! provider name): OAuth providers, and MCP servers whose tools agents call
//! (connected through `crate::tool::servers`). Their tokens are sealed at
//! rest with `ATELYA_SECRET_KEY` (the row id as associated data, so a token
//! copied into another row does not open); no API returns them and no log
//! prints them. Reconnecting a provider replaces its tokens and scopes.

pub mod graphql;
pub mod service;

pub use entity::enums::{IntegrationKind, IntegrationStatus};
