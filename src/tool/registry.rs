//! A workspace's tools: the built-in ones first, then those its connected
//! MCP servers offer (`<server>.<tool>`) by name, each with the workspace's
//! policy applied (enabled, and whether a call waits for an approval).

use std::{collections::HashMap, sync::Arc};

use entity::{integration, integration_tool, tool_policy};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use super::{builtin, ToolSource};
use crate::error::AppResult;

/// One tool of a workspace, as agents and members see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Unique in the workspace.
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub source: ToolSource,
    /// The MCP server it comes from.
    pub integration_id: Option<Uuid>,
    /// That server's row as the registry read it (how the engine reaches it,
    /// without reading it again per call).
    pub server: Option<Arc<integration::Model>>,
    /// Its name on that server.
    pub remote_name: Option<String>,
    pub input_schema: Value,
    pub read_only: bool,
    pub requires_approval: bool,
    pub enabled: bool,
}

/// Every tool of the workspace, built-in first, then by name.
pub async fn tools_of(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    web: bool,
) -> AppResult<Vec<Tool>> {
    let mut tools: Vec<Tool> = builtin::catalog(web)
        .into_iter()
        .map(|b| Tool {
            name: b.name.to_owned(),
            title: Some(b.title.to_owned()),
            description: b.description.to_owned(),
            source: ToolSource::Builtin,
            integration_id: None,
            server: None,
            remote_name: None,
            input_schema: b.input_schema,
            read_only: true,
            requires_approval: false,
            enabled: true,
        })
        .collect();
    let mut offered = mcp_tools(db, workspace_id, None).await?;
    offered.sort_by(|a, b| a.name.cmp(&b.name));
    tools.extend(offered);
    let policies = policies_of(db, workspace_id).await?;
    for tool in &mut tools {
        if let Some(policy) = policies.get(&tool.name) {
            apply(tool, policy);
        }
    }
    Ok(tools)
}

/// The tool called `name` in the workspace, if it has one.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    web: bool,
    name: &str,
) -> AppResult<Option<Tool>> {
    Ok(tools_of(db, workspace_id, web)
        .await?
        .into_iter()
        .find(|t| t.name == name))
}

/// The tools of the workspace's MCP servers (of one, when `only` names it),
/// in each server's order, without policies.
pub async fn mcp_tools(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    only: Option<Uuid>,
) -> AppResult<Vec<Tool>> {
    let mut servers = integration::Entity::find()
        .filter(integration::Column::WorkspaceId.eq(workspace_id))
        .filter(integration::Column::Kind.eq(crate::integration::IntegrationKind::Mcp));
    let mut offered = integration_tool::Entity::find()
        .filter(integration_tool::Column::WorkspaceId.eq(workspace_id));
    if let Some(id) = only {
        servers = servers.filter(integration::Column::Id.eq(id));
        offered = offered.filter(integration_tool::Column::IntegrationId.eq(id));
    }
    let servers: HashMap<Uuid, Arc<integration::Model>> = servers
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, Arc::new(s)))
        .collect();
    let rows = offered
        .order_by_asc(integration_tool::Column::IntegrationId)
        .order_by_asc(integration_tool::Column::Position)
        .all(db)
        .await?;
    let mut tools = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(server) = servers.get(&row.integration_id) else {
            continue;
        };
        let input_schema = row.input_schema.0.clone();
        tools.push(Tool {
            name: format!("{}.{}", server.provider, row.name),
            title: row.title,
            description: row.description,
            source: ToolSource::Mcp,
            integration_id: Some(row.integration_id),
            server: Some(server.clone()),
            remote_name: Some(row.name),
            input_schema,
            read_only: row.read_only,
            requires_approval: !row.read_only,
            enabled: true,
        });
    }
    Ok(tools)
}

/// The workspace's tool policies, keyed by tool name.
pub async fn policies_of(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> AppResult<HashMap<String, tool_policy::Model>> {
    Ok(tool_policy::Entity::find()
        .filter(tool_policy::Column::WorkspaceId.eq(workspace_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect())
}

/// A tool with a policy row applied.
pub fn apply(tool: &mut Tool, policy: &tool_policy::Model) {
    tool.enabled = policy.enabled;
    if let Some(asks) = policy.requires_approval {
        tool.requires_approval = asks;
    }
}
