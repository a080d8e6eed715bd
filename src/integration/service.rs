//! Connecting, disconnecting and listing integrations (owner and admin).

use entity::integration;
use entity::json_text::JsonText;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
};

/// Longest token accepted (OAuth tokens are far shorter; this bounds storage).
const MAX_TOKEN: usize = 8_192;
const MAX_SCOPES: usize = 50;
const MAX_SCOPE: usize = 200;

/// What connecting takes.
pub struct Connection {
    pub provider: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
}

/// Connects `provider`, or reconnects it with new tokens and scopes.
#[tracing::instrument(skip_all, fields(provider = %connection.provider))]
pub async fn connect(
    state: &AppState,
    session: &Session,
    connection: Connection,
) -> AppResult<integration::Model> {
    policy::require(session, Action::Administer)?;
    let provider = provider_name(&connection.provider)?;
    let access = token(&connection.access_token, "accessToken")?;
    let refresh = connection
        .refresh_token
        .as_deref()
        .map(|t| token(t, "refreshToken"))
        .transpose()?;
    let scopes = scopes(connection.scopes)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let existing = by_provider(&*txn, session.workspace_id, &provider).await?;
    if existing
        .as_ref()
        .is_some_and(|row| row.kind != super::IntegrationKind::Oauth)
    {
        return Err(AppError::conflict(format!(
            "an MCP server is connected as {provider}"
        )));
    }
    let reconnected = existing.is_some();
    let id = existing.as_ref().map_or_else(Uuid::now_v7, |row| row.id);
    let row = integration::Model {
        id,
        workspace_id: session.workspace_id,
        provider: provider.clone(),
        scopes: JsonText(scopes),
        sealed_access_token: state.sealer.seal(id.as_bytes(), access.as_bytes())?,
        sealed_refresh_token: refresh
            .map(|t| state.sealer.seal(id.as_bytes(), t.as_bytes()))
            .transpose()?,
        connected_by: Some(session.user.id),
        kind: super::IntegrationKind::Oauth,
        url: None,
        status: super::IntegrationStatus::Connected,
        last_error: None,
        checked_at: None,
        created_at: existing.as_ref().map_or(now, |row| row.created_at),
        updated_at: now,
    };
    let active = row.clone().into_active_model().reset_all();
    if reconnected {
        active.update(&*txn).await?;
    } else {
        integration::Entity::insert(active)
            .exec_without_returning(&*txn)
            .await?;
    }
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::IntegrationConnected,
        target_type: "Integration",
        target_id: Some(ids::encode(Kind::Integration, id)),
        summary: format!("{} connected {provider}", session.user.name),
        metadata: json!({ "provider": provider, "scopes": &*row.scopes, "reconnected": reconnected }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// Disconnects an integration: its row, tokens included, is deleted.
#[tracing::instrument(skip_all, fields(integration = %id))]
pub async fn disconnect(state: &AppState, session: &Session, id: Uuid) -> AppResult<()> {
    policy::require(session, Action::Administer)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
    let row = find(&*txn, session.workspace_id, id).await?;
    integration::Entity::delete_by_id(row.id)
        .exec(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::IntegrationDisconnected,
        target_type: "Integration",
        target_id: Some(ids::encode(Kind::Integration, id)),
        summary: format!("{} disconnected {}", session.user.name, row.provider),
        metadata: json!({ "provider": row.provider }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    state.mcp.forget(id);
    Ok(())
}

/// The workspace's integrations, by provider.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> AppResult<Vec<integration::Model>> {
    Ok(integration::Entity::find()
        .filter(integration::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(integration::Column::Provider)
        .all(db)
        .await?)
}

/// The workspace's integration connected as `provider`, if any.
pub async fn by_provider(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    provider: &str,
) -> AppResult<Option<integration::Model>> {
    Ok(integration::Entity::find()
        .filter(integration::Column::WorkspaceId.eq(workspace_id))
        .filter(integration::Column::Provider.eq(provider))
        .one(db)
        .await?)
}

/// An integration of the workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<integration::Model> {
    crate::db::found::<integration::Entity>(db, workspace_id, id, "integration").await
}

/// A provider is a lower-case slug: letters, digits, `-` and `_`, up to 64.
fn provider_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid {
        return Err(AppError::bad_input(
            "provider must be 1 to 64 lower-case letters, digits, '-' or '_'",
        ));
    }
    Ok(name.to_owned())
}

fn token(raw: &str, what: &str) -> AppResult<String> {
    if raw.trim().is_empty() {
        return Err(AppError::bad_input(format!("{what} must not be empty")));
    }
    input::limit(raw, what, MAX_TOKEN)?;
    Ok(raw.to_owned())
}

fn scopes(raw: Vec<String>) -> AppResult<Vec<String>> {
    if raw.len() > MAX_SCOPES {
        return Err(AppError::bad_input(format!(
            "at most {MAX_SCOPES} scopes are allowed"
        )));
    }
    let mut scopes = Vec::with_capacity(raw.len());
    for scope in raw {
        let scope = input::text(&scope, "scope", MAX_SCOPE)?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_lower_case_slugs() {
        assert_eq!(provider_name(" google-drive ").unwrap(), "google-drive");
        assert!(provider_name("slack_v2").is_ok());
        for bad in ["", "Slack", "has space", "a/b", &"x".repeat(65)] {
            assert!(provider_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes_are_trimmed_and_deduplicated() {
        let got = scopes(vec!["read".into(), " write ".into(), "read".into()]).unwrap();
        assert_eq!(got, ["read", "write"]);
        assert!(scopes(vec!["".into()]).is_err());
        assert!(scopes(vec!["s".into(); 51]).is_err());
    }
}
