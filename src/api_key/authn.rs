//! The authentication of a request that carries an API key, and the checks
//! that keep a key dead once it should be: revoked, expired, or its
//! creator's membership gone.

use chrono::{DateTime, TimeDelta, Utc};
use entity::{api_key, member, user};
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    auth::{
        secret,
        session::{KeyAccess, Session},
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// `lastUsedAt` is written at most this often per key, not on every request.
const LAST_USED_EVERY: TimeDelta = TimeDelta::minutes(1);

/// The session of a request made with the key `secret`: read fresh every
/// time (never cached), so a revocation, an expiry or the creator leaving
/// refuses the very next request. The key acts under the membership row its
/// creator had when making it; once that row is gone (the creator left or
/// was removed) no later membership revives the key.
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
    usable(&key, now)?;
    let found = match key.member_id {
        Some(member_id) => {
            member::Entity::find_by_id(member_id)
                .filter(member::Column::WorkspaceId.eq(key.workspace_id))
                .find_also_related(user::Entity)
                .one(db)
                .await?
        }
        None => None,
    };
    let Some((member, Some(user))) = found else {
        return Err(AppError::Unauthenticated(
            "the creator of this API key is no longer a member of its workspace".into(),
        ));
    };
    let key_role = key.role;
    let role = member.role.min(key_role);
    if key
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_EVERY)
    {
        // A write like any other, through a write transaction: on SQLite a
        // write beside the write gate would make a gated transaction that
        // read before it fail (SQLITE_BUSY_SNAPSHOT).
        let txn = state.db.begin().await?;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
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
            clock: state.clock.clone(),
        }),
        user,
        member,
    })
}

/// UNAUTHENTICATED when the key is revoked or past its expiry at `now`.
fn usable(key: &api_key::Model, now: DateTime<Utc>) -> AppResult<()> {
    if key.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("this API key was revoked".into()));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::Unauthenticated("this API key expired".into()));
    }
    Ok(())
}

/// Under a change's lock: the key acting was neither revoked nor expired
/// since the request began (its membership is checked by the caller).
pub async fn require_live(db: &impl ConnectionTrait, key: &KeyAccess) -> AppResult<()> {
    let row = api_key::Entity::find_by_id(key.id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this API key was revoked".into()))?;
    usable(&row, key.clock.now())
}

/// Marks the keys made under a membership that is ending as revoked, in the
/// transaction that ends it, so the list of keys says what is already true:
/// a key bound to a deleted membership never authenticates again.
pub async fn revoke_for_member(
    db: &impl ConnectionTrait,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .filter(api_key::Column::MemberId.eq(member_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
