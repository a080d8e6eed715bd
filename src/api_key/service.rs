//! Creating, listing and revoking API keys (owner and admin), and the
//! authentication of a request that carries one.

use chrono::{DateTime, TimeDelta, Utc};
use entity::{api_key, member, user};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::SECRET_PREFIX;
use crate::{
    activity::{self, NewActivity},
    auth::{
        policy, secret,
        session::{KeyAccess, Session},
        Action,
    },
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
/// `lastUsedAt` is written at most this often per key, not on every request.
const LAST_USED_EVERY: TimeDelta = TimeDelta::minutes(1);

/// What creating a key takes.
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key; returns its secret (shown this once) and its row.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, role = %key.role.as_str()))]
pub async fn create(
    state: &AppState,
    session: &Session,
    key: NewKey,
) -> AppResult<(String, api_key::Model)> {
    policy::require(session, Action::Administer)?;
    refuse_keys(session)?;
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
    let txn = state.db.begin().await?;
    let locked = policy::require_locked(&txn, session, Action::Administer).await?;
    if key.role > locked.role {
        return Err(AppError::forbidden(format!(
            "a key's role can be at most yours ({})",
            locked.role.as_str()
        )));
    }
    let secret = format!("{SECRET_PREFIX}{}", secret::generate());
    let row = api_key::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        name,
        prefix: secret[..PREFIX_LEN].to_owned(),
        secret_hash: secret::hash(&secret),
        role: key.role.as_str().to_owned(),
        created_by: Some(session.user.id),
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
        action: "api_key.created",
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
    policy::require(session, Action::Administer)?;
    refuse_keys(session)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Administer).await?;
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
        action: "api_key.revoked",
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
    crate::db::scoped::<api_key::Entity>(db, id, workspace_id)
        .await?
        .ok_or(AppError::NotFound("API key"))
}

/// The session of a request made with the key `secret`: read fresh every
/// time (never cached), so a revocation, an expiry or the creator leaving
/// refuses the very next request.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(state: &AppState, secret: &str) -> AppResult<Session> {
    let refused = || AppError::Unauthenticated("invalid API key".into());
    let db = state.db.conn();
    let key = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(secret::hash(secret)))
        .one(db)
        .await?
        .ok_or_else(refused)?;
    let now = state.clock.now();
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("this API key was revoked".into()));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::Unauthenticated("this API key expired".into()));
    }
    let creator = key.created_by.ok_or_else(refused)?;
    let found = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(key.workspace_id))
        .filter(member::Column::UserId.eq(creator))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    let Some((member, Some(user))) = found else {
        return Err(AppError::Unauthenticated(
            "the creator of this API key is no longer a member of its workspace".into(),
        ));
    };
    let key_role = Role::parse(&key.role)?;
    let role = Role::parse(&member.role)?.min(key_role);
    if key
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_EVERY)
    {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(Session {
        role,
        workspace_id: key.workspace_id,
        // A key without an expiry keeps its sockets until it is revoked.
        token_expires_at: key.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
        sign_in: None,
        api_key: Some(KeyAccess {
            id: key.id,
            name: key.name,
            role: key_role,
        }),
        user,
        member,
    })
}

/// Under a change's lock: the key acting has not been revoked since the
/// request began.
pub async fn require_unrevoked(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    let key = api_key::Entity::find_by_id(id).one(db).await?;
    match key {
        Some(key) if key.revoked_at.is_none() => Ok(()),
        _ => Err(AppError::Unauthenticated("this API key was revoked".into())),
    }
}

/// Keys are managed by people: a key cannot create or revoke keys (so a
/// leaked key cannot mint itself a successor).
fn refuse_keys(session: &Session) -> AppResult<()> {
    if session.api_key.is_some() {
        return Err(AppError::forbidden(
            "API keys are created and revoked by a signed-in owner or admin, not by a key",
        ));
    }
    Ok(())
}
