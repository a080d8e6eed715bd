//! MCP servers as integrations: `connectMcpServer` reads the server's tools
//! before anything is stored (a server that cannot be reached or answers
//! badly is BAD_USER_INPUT and changes nothing); `refreshIntegrationTools`
//! reads them again, and so does a call whose server announced that its
//! list changed. A failed read marks the server FAILING with its error and
//! keeps the tools it had.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::json_text::JsonText;
use entity::{integration, integration_tool};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::mcp::{self, Endpoint, ListedTool};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    integration::{
        service::{by_provider, find},
        IntegrationKind, IntegrationStatus,
    },
    outbound,
    state::AppState,
};

/// Most MCP servers one workspace may connect.
pub const MAX_SERVERS: u64 = 20;
const MAX_URL: usize = 2_048;
const MAX_TOKEN: usize = 8_192;

/// What connecting a server takes.
pub struct NewServer {
    pub name: String,
    pub url: String,
    pub access_token: Option<String>,
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id))]
pub async fn connect(
    state: &AppState,
    session: &Session,
    server: NewServer,
) -> AppResult<integration::Model> {
    policy::require(session, Action::Administer)?;
    let name = server_name(&server.name)?;
    let allow_private = state.config.webhook_allow_private;
    let url = endpoint_url(&server.url, allow_private)?;
    let token = match server.access_token.as_deref() {
        Some(t) if !t.trim().is_empty() => {
            input::limit(t, "accessToken", MAX_TOKEN)?;
            Some(t.to_owned())
        }
        _ => None,
    };
    let endpoint = Endpoint {
        url: url.clone(),
        token: token.clone(),
        allow_private,
    };
    let tools = read_tools(state, &endpoint)
        .await
        .map_err(|e| AppError::bad_input(format!("the MCP server could not be used: {e}")))?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let existing = by_provider(&*txn, session.workspace_id, &name).await?;
    if existing
        .as_ref()
        .is_some_and(|row| row.kind != IntegrationKind::Mcp)
    {
        return Err(AppError::conflict(format!(
            "an OAuth integration is connected as {name}"
        )));
    }
    if existing.is_none() && count_servers(&*txn, session.workspace_id).await? >= MAX_SERVERS {
        return Err(AppError::bad_input(format!(
            "a workspace connects at most {MAX_SERVERS} MCP servers"
        )));
    }
    let id = existing.as_ref().map_or_else(Uuid::now_v7, |row| row.id);
    let row = integration::Model {
        id,
        workspace_id: session.workspace_id,
        provider: name.clone(),
        scopes: JsonText::default(),
        // No token is a sealed empty one: the column holds a sealed value either way.
        sealed_access_token: state
            .sealer
            .seal(id.as_bytes(), token.unwrap_or_default().as_bytes())?,
        sealed_refresh_token: None,
        connected_by: Some(session.user.id),
        kind: IntegrationKind::Mcp,
        url: Some(url.clone()),
        status: IntegrationStatus::Connected,
        last_error: None,
        checked_at: Some(now),
        created_at: existing.as_ref().map_or(now, |row| row.created_at),
        updated_at: now,
    };
    let active = row.clone().into_active_model().reset_all();
    if existing.is_some() {
        active.update(&*txn).await?;
    } else {
        integration::Entity::insert(active)
            .exec_without_returning(&*txn)
            .await?;
    }
    store_tools(&txn, &row, &tools).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::IntegrationConnected,
        target_type: "Integration",
        target_id: Some(ids::encode(Kind::Integration, id)),
        summary: format!(
            "{} connected the MCP server {name} ({} tools)",
            session.user.name,
            tools.len()
        ),
        metadata: json!({
            "provider": name,
            "kind": IntegrationKind::Mcp,
            "origin": outbound::origin(&url).to_string(),
            "tools": tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            "reconnected": existing.is_some(),
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// `refreshIntegrationTools`: reads the server's tools again. A failure is
/// recorded on the integration (FAILING, lastError), not raised.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, integration = %id))]
pub async fn refresh(
    state: &AppState,
    session: &Session,
    id: Uuid,
) -> AppResult<integration::Model> {
    policy::require(session, Action::Administer)?;
    let row = find(state.db.conn(), session.workspace_id, id).await?;
    if row.kind != IntegrationKind::Mcp {
        return Err(AppError::bad_input("only an MCP server has tools to read"));
    }
    let read = read_tools(state, &endpoint_of(state, &row)?).await;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let row = find(&*txn, session.workspace_id, id).await?;
    let (row, summary) = record_read(&txn, row, &read, now).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::IntegrationToolsRefreshed,
        target_type: "Integration",
        target_id: Some(ids::encode(Kind::Integration, id)),
        summary: format!(
            "{} refreshed the tools of {}: {summary}",
            session.user.name, row.provider
        ),
        metadata: json!({
            "provider": row.provider,
            "status": row.status,
            "tools": read.as_ref().ok().map(|t| t.iter().map(|t| t.name.clone()).collect::<Vec<_>>()),
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// Reads a server's tools again after it announced a change (no one asked,
/// so no activity entry).
pub async fn reread(state: &AppState, workspace_id: Uuid, id: Uuid) -> AppResult<()> {
    let row = find(state.db.conn(), workspace_id, id).await?;
    let read = read_tools(state, &endpoint_of(state, &row)?).await;
    let txn = state.db.begin().await?;
    txn.hold_workspace(workspace_id).await?;
    let Ok(row) = find(&*txn, workspace_id, id).await else {
        return Ok(());
    };
    record_read(&txn, row, &read, state.clock.now()).await?;
    txn.commit().await
}

/// Re-reads, one at a time, the tool list of each server whose open session
/// announced `notifications/tools/list_changed`.
pub fn spawn_rereads(state: crate::state::SharedState) -> Option<tokio::task::JoinHandle<()>> {
    let mut notices = state.mcp.take_notices()?;
    Some(tokio::spawn(async move {
        while let Some((workspace, id)) = notices.recv().await {
            if let Err(err) = reread(&state, workspace, id).await {
                tracing::warn!(integration = %id, error = %err, "could not re-read a changed tool list");
            }
        }
    }))
}

/// Marks a server FAILING (or CONNECTED again) after a call.
pub async fn mark(
    state: &AppState,
    row: &integration::Model,
    failure: Option<&str>,
) -> AppResult<()> {
    let status = match failure {
        Some(_) => IntegrationStatus::Failing,
        None => IntegrationStatus::Connected,
    };
    if row.status == status && row.last_error.as_deref() == failure {
        return Ok(());
    }
    integration::Entity::update_many()
        .col_expr(integration::Column::Status, status.into())
        .col_expr(
            integration::Column::LastError,
            failure.map(str::to_owned).into(),
        )
        .filter(integration::Column::Id.eq(row.id))
        .exec(state.db.conn())
        .await?;
    Ok(())
}

/// How to reach a stored server, its token unsealed.
pub fn endpoint_of(state: &AppState, row: &integration::Model) -> AppResult<Endpoint> {
    let token = state
        .sealer
        .open(row.id.as_bytes(), &row.sealed_access_token)?;
    let token = String::from_utf8(token)
        .map_err(|_| AppError::Internal("a sealed MCP token is not text".into()))?;
    Ok(Endpoint {
        url: row.url.clone().unwrap_or_default(),
        token: Some(token).filter(|t| !t.is_empty()),
        allow_private: state.config.webhook_allow_private,
    })
}

async fn read_tools(state: &AppState, endpoint: &Endpoint) -> Result<Vec<ListedTool>, String> {
    let settings = &state.config.tools;
    mcp::list_tools(
        endpoint,
        settings.max_tools_per_server,
        Duration::from_millis(settings.connect_timeout_ms.max(1)),
    )
    .await
}

/// Records a read's outcome on the locked workspace's integration: its
/// tools replaced and CONNECTED, or FAILING with the error.
async fn record_read(
    txn: &WriteTxn,
    mut row: integration::Model,
    read: &Result<Vec<ListedTool>, String>,
    now: DateTime<Utc>,
) -> AppResult<(integration::Model, String)> {
    let summary = match read {
        Ok(tools) => {
            store_tools(txn, &row, tools).await?;
            row.status = IntegrationStatus::Connected;
            row.last_error = None;
            row.checked_at = Some(now);
            format!("{} tools", tools.len())
        }
        Err(error) => {
            row.status = IntegrationStatus::Failing;
            row.last_error = Some(error.clone());
            format!("failing ({error})")
        }
    };
    row.updated_at = now;
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    Ok((row, summary))
}

/// Replaces the integration's tools with `tools`, in the server's order.
async fn store_tools(
    txn: &WriteTxn,
    row: &integration::Model,
    tools: &[ListedTool],
) -> AppResult<()> {
    integration_tool::Entity::delete_many()
        .filter(integration_tool::Column::IntegrationId.eq(row.id))
        .exec(&**txn)
        .await?;
    for (position, tool) in tools.iter().enumerate() {
        let stored = integration_tool::Model {
            id: Uuid::now_v7(),
            workspace_id: row.workspace_id,
            integration_id: row.id,
            position: position as i32,
            name: tool.name.clone(),
            title: tool.title.clone(),
            description: tool.description.clone(),
            input_schema: JsonText(tool.input_schema.clone()),
            read_only: tool.read_only,
        };
        integration_tool::Entity::insert(stored.into_active_model().reset_all())
            .exec_without_returning(&**txn)
            .await?;
    }
    Ok(())
}

async fn count_servers(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<u64> {
    Ok(integration::Entity::find()
        .filter(integration::Column::WorkspaceId.eq(workspace_id))
        .filter(integration::Column::Kind.eq(IntegrationKind::Mcp))
        .count(db)
        .await?)
}

/// A server's name: lower-case letters, digits and dashes, 1 to 40.
fn server_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let valid = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(AppError::bad_input(
            "name must be 1 to 40 lower-case letters, digits or '-'",
        ));
    }
    Ok(name.to_owned())
}

/// The endpoint: https, or http where private addresses are allowed.
fn endpoint_url(raw: &str, allow_private: bool) -> AppResult<String> {
    let url = raw.trim();
    input::limit(url, "url", MAX_URL)?;
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let http = url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    if !(https || (http && allow_private)) {
        return Err(AppError::bad_input(
            "url must be https (http only where private addresses are allowed)",
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_short_lower_case_slugs() {
        assert_eq!(server_name(" crm ").unwrap(), "crm");
        assert!(server_name("my-crm-2").is_ok());
        for bad in ["", "CRM", "a_b", "a.b", "has space", &"x".repeat(41)] {
            assert!(server_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_are_https_unless_private_addresses_are_allowed() {
        assert!(endpoint_url("https://mcp.example.com/mcp", false).is_ok());
        assert!(endpoint_url("http://127.0.0.1:9000/mcp", false).is_err());
        assert!(endpoint_url("http://127.0.0.1:9000/mcp", true).is_ok());
        assert!(endpoint_url("ftp://example.com", true).is_err());
    }
}
