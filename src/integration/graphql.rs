//! The `Integration` type and `connectIntegration` / `disconnectIntegration`.
//! No field exposes a token.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use entity::integration;

use super::service;
use crate::{
    auth::{Action, Allowed},
    graphql::{context::ContextExt, enums},
    identity::graphql::{load_user, User},
    ids::{self, Kind},
    tool::{graphql::Tool, registry},
};

pub struct Integration(pub integration::Model);

#[Object]
impl Integration {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Integration, self.0.id))
    }
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    async fn kind(&self) -> enums::IntegrationKind {
        self.0.kind.into()
    }
    /// The MCP server's endpoint (MCP only).
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    async fn scopes(&self) -> &[String] {
        &self.0.scopes
    }
    /// The tools it offers (MCP only; empty otherwise).
    async fn tools(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tool>> {
        let db = ctx.app().db.conn();
        let mut tools = registry::mcp_tools(db, self.0.workspace_id, Some(self.0.id)).await?;
        let policies = registry::policies_of(db, self.0.workspace_id).await?;
        for tool in &mut tools {
            if let Some(policy) = policies.get(&tool.name) {
                registry::apply(tool, policy);
            }
        }
        Ok(tools.into_iter().map(Tool).collect())
    }
    async fn status(&self) -> enums::IntegrationStatus {
        self.0.status.into()
    }
    /// The last failure talking to it, without secrets.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When its tools were last read.
    async fn checked_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_at
    }
    async fn connected_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.connected_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct IntegrationInput {
    provider: String,
    access_token: String,
    refresh_token: Option<String>,
    scopes: Option<Vec<String>>,
}

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Owner and admin only. Connecting a provider again replaces its tokens and scopes.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn connect_integration(
        &self,
        ctx: &Context<'_>,
        input: IntegrationInput,
    ) -> async_graphql::Result<Integration> {
        let connection = service::Connection {
            provider: input.provider,
            access_token: input.access_token,
            refresh_token: input.refresh_token,
            scopes: input.scopes.unwrap_or_default(),
        };
        Ok(Integration(
            service::connect(ctx.app(), ctx.session()?, connection).await?,
        ))
    }

    /// Owner and admin only. Deletes the integration and its tokens.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn disconnect_integration(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let id = ids::decode(Kind::Integration, &id, "integration")?;
        service::disconnect(ctx.app(), ctx.session()?, id).await?;
        Ok(true)
    }
}
