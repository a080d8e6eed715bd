//! `Tool`, `ToolCall`, and the tool mutations: `setToolPolicy`,
//! `connectMcpServer` and `refreshIntegrationTools`.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use entity::tool_call;

use super::{
    policy::{self, PolicyChange},
    registry, servers, ToolSource,
};
use crate::{
    auth::{Action, Allowed},
    graphql::{context::ContextExt, enums, int},
    ids::{self, Kind},
    integration::graphql::Integration,
    task::graphql::{approval_of, Approval},
};

pub struct Tool(pub registry::Tool);

#[Object]
impl Tool {
    /// Unique in the workspace: `workspace.search_deliverables`, or `<server name>.<tool>`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn source(&self) -> ToolSource {
        self.0.source
    }
    /// The MCP server it comes from (null for built-in tools). Integrations
    /// are for owners and admins (their URLs and errors may hold
    /// credentials): null for other roles.
    async fn integration(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Integration>> {
        let session = ctx.session()?;
        let Some(id) = self.0.integration_id else {
            return Ok(None);
        };
        if crate::auth::policy::require(session, Action::Administer).is_err() {
            return Ok(None);
        }
        let found =
            crate::integration::service::find(ctx.app().db.conn(), session.workspace_id, id)
                .await
                .ok();
        Ok(found.map(Integration))
    }
    /// JSON Schema of its arguments.
    async fn input_schema(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.input_schema.clone())
    }
    /// Read-only tools run without asking.
    async fn read_only(&self) -> bool {
        self.0.read_only
    }
    /// Each call waits for an approval first (default: every tool that is not read-only).
    async fn requires_approval(&self) -> bool {
        self.0.requires_approval
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
}

pub struct ToolCall(pub tool_call::Model);

#[Object]
impl ToolCall {
    async fn id(&self) -> ID {
        ID(ids::encode(Kind::ToolCall, self.0.id))
    }
    async fn tool(&self) -> &str {
        &self.0.tool
    }
    async fn arguments(&self) -> async_graphql::Json<&serde_json::Value> {
        async_graphql::Json(&self.0.arguments)
    }
    async fn state(&self) -> enums::ToolCallState {
        self.0.state.into()
    }
    /// Its text result, at most 64 KiB.
    async fn result(&self) -> Option<&str> {
        self.0.result.as_deref()
    }
    async fn is_error(&self) -> bool {
        self.0.is_error
    }
    async fn credits_used(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.credits_used)?)
    }
    /// The approval it waits for or got (tools that require one).
    async fn approval(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Approval>> {
        let task = ctx
            .loaders()
            .tasks()
            .load_one(self.0.task_id)
            .await?
            .and_then(|rows| rows.into_iter().next());
        match task {
            Some(task) => approval_of(ctx, &task, Some(&self.0)).await,
            None => Ok(None),
        }
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}

#[derive(InputObject)]
pub struct ToolPolicyInput {
    name: String,
    enabled: Option<bool>,
    requires_approval: Option<bool>,
}

#[derive(InputObject)]
pub struct McpServerInput {
    /// Lower-case letters, digits and dashes, 1-40; unique in the workspace; the prefix of its tools' names.
    name: String,
    /// The server's Streamable HTTP endpoint: https, or http where private addresses are allowed (ATELYA_WEBHOOK_ALLOW_PRIVATE, for tests and local servers).
    url: String,
    /// Sent as a bearer token; sealed at rest, never returned.
    access_token: Option<String>,
}

#[derive(Default)]
pub struct ToolMutation;

#[Object]
impl ToolMutation {
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn set_tool_policy(
        &self,
        ctx: &Context<'_>,
        input: ToolPolicyInput,
    ) -> async_graphql::Result<Tool> {
        let change = PolicyChange {
            name: input.name,
            enabled: input.enabled,
            requires_approval: input.requires_approval,
        };
        Ok(Tool(policy::set(ctx.app(), ctx.session()?, change).await?))
    }

    /// Owner and admin only. Reads the server's tools; a server that cannot be reached or answers badly is BAD_USER_INPUT and nothing is stored.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn connect_mcp_server(
        &self,
        ctx: &Context<'_>,
        input: McpServerInput,
    ) -> async_graphql::Result<Integration> {
        let server = servers::NewServer {
            name: input.name,
            url: input.url,
            access_token: input.access_token,
        };
        Ok(Integration(
            servers::connect(ctx.app(), ctx.session()?, server).await?,
        ))
    }

    /// Owner and admin only. Reads the MCP server's tools again.
    #[graphql(guard = "Allowed(Action::Administer)")]
    async fn refresh_integration_tools(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Integration> {
        let id = ids::decode(Kind::Integration, &id, "integration")?;
        Ok(Integration(
            servers::refresh(ctx.app(), ctx.session()?, id).await?,
        ))
    }
}
