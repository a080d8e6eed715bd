//! Creating, listing and revoking API keys: people who are owners or
//! admins do it, never a key (`Action::ManageKeys` in the policy).

use chrono::{DateTime, Utc};
use entity::api_key;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::{limits, SECRET_PREFIX};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, secret, session::Session, Action},
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    member::Role,
    realtime::{Message, Topic},
    state::AppState,
};

/// Longest key name.
const MAX_NAME: usize = 100;
/// Characters of the secret kept to recognise it: `atk_` and eight more.
const PREFIX_LEN: usize = SECRET_PREFIX.len() + 8;

/// What creating a key takes.
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key; returns its secret (shown this once) and its row.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, role = %key.role))]
pub async fn create(
    state: &AppState,
    session: &Session,
    client_ip: &str,
    key: NewKey,
) -> AppResult<(String, api_key::Model)> {
    policy::require(session, Action::ManageKeys)?;
    let name = key.name.trim().to_owned();
    input::limit(&name, "name", MAX_NAME)?;
    if name.is_empty() {
        return Err(AppError::bad_input("name must not be empty"));
    }
    let now = state.clock.now();
    if key.role == Role::Owner {
        return Err(AppError::bad_input("an API key cannot be OWNER"));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::bad_input("expiresAt must be in the future"));
    }
    limits::take_creation(state, session, client_ip).await?;
    let txn = state.db.begin().await?;
    let locked = policy::require_locked(&txn, session, Action::ManageKeys).await?;
    if key.role > locked.role {
        return Err(AppError::forbidden(format!(
            "a key's role can be at most yours ({})",
            locked.role
        )));
    }
    limits::ensure_room(&txn, state, session.workspace_id, now).await?;
    let secret = format!("{SECRET_PREFIX}{}", secret::generate());
    let row = api_key::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        name,
        prefix: secret[..PREFIX_LEN].to_owned(),
        secret_hash: secret::hash(&secret),
        role: key.role,
        created_by: Some(session.user.id),
        member_id: Some(locked.member.id),
        created_at: now,
        last_used_at: None,
        expires_at: key.expires_at,
        revoked_at: None,
    };
    api_key::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ApiKeyCreated,
        target_type: "ApiKey",
        target_id: Some(ids::encode(Kind::ApiKey, row.id)),
        summary: format!("{} created the API key {}", session.user.name, row.name),
        metadata: json!({
            "name": row.name,
            "prefix": row.prefix,
            "role": row.role,
            "expiresAt": row.expires_at,
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok((secret, row))
}

/// Revokes a key: the next request with it is refused, and its open sockets
/// close (at once here, within a second on other instances). Revoking a
/// revoked key changes nothing and answers it as it is.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, api_key = %id))]
pub async fn revoke(state: &AppState, session: &Session, id: Uuid) -> AppResult<api_key::Model> {
    policy::require(session, Action::ManageKeys)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::ManageKeys).await?;
    let mut row = find(&*txn, session.workspace_id, id).await?;
    if row.revoked_at.is_some() {
        return Ok(row);
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    row.revoked_at = Some(now);
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ApiKeyRevoked,
        target_type: "ApiKey",
        target_id: Some(ids::encode(Kind::ApiKey, id)),
        summary: format!("{} revoked the API key {}", session.user.name, row.name),
        metadata: json!({ "name": row.name, "prefix": row.prefix }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    if let Some(creator) = row.created_by {
        // The key's sockets are its creator's: they check their access again.
        txn.publish(
            Topic::Control,
            Message::AccessChanged {
                workspace_id: session.workspace_id,
                user_id: creator,
            },
        );
    }
    txn.commit().await?;
    Ok(row)
}

/// The workspace's keys, oldest first, revoked ones included.
pub async fn list(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// A key of the workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<api_key::Model> {
    crate::db::found::<api_key::Entity>(db, workspace_id, id, "API key").await
}
