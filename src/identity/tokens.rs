//! Issuing and rotating the token pair.
//!
//! A refresh token belongs to a family (one sign-in). Using it marks it rotated
//! and issues the next one in the family; presenting a rotated token again
//! means it was stolen or replayed, so the whole family is revoked.

use chrono::{DateTime, TimeDelta, Utc};
use entity::{refresh_token, user};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::{
    auth::secret,
    db::WriteTxn,
    error::{AppError, AppResult},
    member::Role,
    realtime::{Message, Topic},
    state::AppState,
};

/// What sign-in style mutations return.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
    pub workspace_id: Uuid,
    pub role: Role,
}

/// Issues an access token and a refresh token in `family` (a new family when `None`).
pub async fn issue(
    db: &impl ConnectionTrait,
    state: &AppState,
    user: user::Model,
    workspace_id: Uuid,
    role: Role,
    family: Option<Uuid>,
) -> AppResult<Issued> {
    let now = state.clock.now();
    let refresh = secret::generate();
    let family_id = family.unwrap_or_else(Uuid::now_v7);
    let row = refresh_token::Model {
        id: Uuid::now_v7(),
        user_id: user.id,
        workspace_id,
        family_id,
        token_hash: secret::hash(&refresh),
        created_at: now,
        expires_at: now + TimeDelta::seconds(state.config.refresh_token_ttl as i64),
        rotated_at: None,
        revoked_at: None,
    };
    refresh_token::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    let (access_token, expires_at) = state.jwt.issue(user.id, workspace_id, family_id, now)?;
    Ok(Issued {
        access_token,
        refresh_token: refresh,
        expires_at,
        user,
        workspace_id,
        role,
    })
}

/// Marks `token` rotated if it is live; returns its row. A token that was
/// already rotated revokes its family (reuse detection).
pub async fn rotate(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<refresh_token::Model> {
    let invalid = || AppError::Unauthenticated("refresh token is not valid".into());
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secret::hash(token)))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(invalid());
    }
    // Conditional update: of two concurrent uses, exactly one wins.
    let won = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if won.rows_affected == 0 {
        return Err(AppError::Unauthenticated(
            "refresh token was already used; the session is revoked".into(),
        ));
    }
    Ok(row)
}

/// The row of `token` if it was already rotated (a replay): the caller revokes its family.
pub async fn replayed(
    db: &impl ConnectionTrait,
    token: &str,
) -> AppResult<Option<refresh_token::Model>> {
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(secret::hash(token)))
        .filter(refresh_token::Column::RotatedAt.is_not_null())
        .one(db)
        .await?)
}

/// Ends the sign-in `token` belongs to: every refresh token of its family is
/// revoked, and the user's open sockets in that workspace check their access again.
pub async fn revoke_family(
    txn: &WriteTxn,
    token: &refresh_token::Model,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Waits for a refresh of this family that is under way, so that the
        // update below (a statement of its own, with a fresh snapshot) also
        // revokes the token that refresh issued. SQLite's write gate already
        // orders the two.
        refresh_token::Entity::find()
            .select_only()
            .column(refresh_token::Column::Id)
            .filter(refresh_token::Column::FamilyId.eq(token.family_id))
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(&**txn)
            .await?;
    }
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(token.family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&**txn)
        .await?;
    txn.publish(
        Topic::Control,
        Message::AccessChanged {
            workspace_id: token.workspace_id,
            user_id: token.user_id,
        },
    );
    Ok(result.rows_affected)
}

/// Revokes every refresh token `user` holds for `workspace` (on removal or leaving).
pub async fn revoke_for_member(
    db: &impl ConnectionTrait,
    user: Uuid,
    workspace: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user))
        .filter(refresh_token::Column::WorkspaceId.eq(workspace))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
