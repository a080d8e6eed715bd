//! Sign-up, login, refresh, logout, and moving a token between workspaces.

use chrono::TimeDelta;
use entity::{member, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::tokens::{self, Issued};
use crate::{
    auth::{credentials, password, policy, Action, Session},
    db::is_unique_violation,
    error::{AppError, AppResult},
    input::{self, Email},
    member::Role,
    ratelimit::Limit,
    state::AppState,
    workspace,
};

pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: String,
    pub workspace_name: String,
}

/// Creates the user, their workspace on the free trial, and signs them in.
#[tracing::instrument(skip_all)]
pub async fn signup(state: &AppState, client_ip: &str, input: SignupInput) -> AppResult<Issued> {
    let per_minute = Limit::new(
        state.config.limits.auth_rate_per_minute,
        TimeDelta::minutes(1),
    );
    state
        .limiter
        .attempt(&format!("signup:{client_ip}"), per_minute)
        .await?;
    let email = Email::parse(&input.email)?;
    let name = input::name(&input.name, "name")?;
    input::name(&input.workspace_name, "workspace name")?;
    password::validate_new(&input.password)?;
    let hash = state.passwords.hash(input.password).await?;

    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let user = create_user(&txn, email, name, hash, now).await?;
    let (ws, _) = workspace::service::create(&txn, &user, &input.workspace_name, now).await?;
    let issued = tokens::issue(&*txn, state, user, ws.id, Role::Owner, None).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Inserts a user; an email already registered is CONFLICT.
pub async fn create_user(
    txn: &crate::db::WriteTxn,
    email: Email,
    name: String,
    password_hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<user::Model> {
    let user = user::Model {
        id: Uuid::now_v7(),
        email: email.into_inner(),
        name,
        password_hash,
        created_at: now,
    };
    user::Entity::insert(user.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::conflict("an account with this email already exists")
            } else {
                e.into()
            }
        })?;
    Ok(user)
}

/// Checks the password and signs in to the user's first workspace.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    client_ip: &str,
    email: &str,
    password: &str,
) -> AppResult<Issued> {
    let Ok(email) = Email::parse(email) else {
        // Not even an email: no account can match, but it costs the same.
        let stand_in = Email::parse("nobody@invalid.invalid")?;
        credentials::check_password(state, client_ip, &stand_in, None, password).await?;
        return Err(credentials::wrong_credentials());
    };
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(state.db.conn())
        .await?;
    let verified =
        credentials::check_password(state, client_ip, &email, found.as_ref(), password).await?;
    let Some(user) = found.filter(|_| verified) else {
        return Err(credentials::wrong_credentials());
    };
    let first = member::Entity::find()
        .filter(member::Column::UserId.eq(user.id))
        .order_by_asc(member::Column::JoinedAt)
        .one(state.db.conn())
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                "this account belongs to no workspace; accept an invitation to join one",
            )
        })?;
    let role = first.role;
    let txn = state.db.begin().await?;
    let issued = tokens::issue(&*txn, state, user, first.workspace_id, role, None).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Exchanges a refresh token for a new pair in the same family.
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<Issued> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let rotated = match tokens::rotate(&*txn, refresh_token, now).await {
        Ok(row) => row,
        Err(err) => {
            drop(txn);
            if let Some(replayed) = tokens::replayed(state.db.conn(), refresh_token).await? {
                let revoke = state.db.begin().await?;
                let revoked = tokens::revoke_family(&revoke, &replayed, now).await?;
                revoke.commit().await?;
                let family = replayed.family_id;
                tracing::warn!(%family, revoked, "refresh token reused: family revoked");
            }
            return Err(err);
        }
    };
    let member = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(rotated.workspace_id))
        .filter(member::Column::UserId.eq(rotated.user_id))
        .one(&*txn)
        .await?
        .ok_or_else(|| {
            AppError::Unauthenticated("you are no longer a member of this workspace".into())
        })?;
    let user = user::Entity::find_by_id(rotated.user_id)
        .one(&*txn)
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    let role = member.role;
    let issued = tokens::issue(
        &*txn,
        state,
        user,
        rotated.workspace_id,
        role,
        Some(rotated.family_id),
    )
    .await?;
    txn.commit().await?;
    Ok(issued)
}

/// Ends the sign-in the refresh token belongs to. True when a live session ended.
#[tracing::instrument(skip_all)]
pub async fn logout(state: &AppState, refresh_token: &str) -> AppResult<bool> {
    let row = entity::refresh_token::Entity::find()
        .filter(
            entity::refresh_token::Column::TokenHash.eq(crate::auth::secret::hash(refresh_token)),
        )
        .one(state.db.conn())
        .await?;
    let Some(row) = row else { return Ok(false) };
    let txn = state.db.begin().await?;
    let revoked = tokens::revoke_family(&txn, &row, state.clock.now()).await?;
    txn.commit().await?;
    Ok(revoked > 0)
}

/// Creates another workspace owned by the caller and signs in to it.
#[tracing::instrument(skip_all, fields(user = %session.user.id))]
pub async fn create_workspace(
    state: &AppState,
    session: &Session,
    name: &str,
) -> AppResult<Issued> {
    policy::require(session, Action::OwnAccount)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let (ws, _) = workspace::service::create(&txn, &session.user, name, now).await?;
    let issued =
        tokens::issue(&*txn, state, session.user.clone(), ws.id, Role::Owner, None).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Signs in to another workspace the caller belongs to; any other id is NOT_FOUND.
#[tracing::instrument(skip_all, fields(workspace = %workspace_id, user = %session.user.id))]
pub async fn switch_workspace(
    state: &AppState,
    session: &Session,
    workspace_id: Uuid,
) -> AppResult<Issued> {
    policy::require(session, Action::OwnAccount)?;
    let member = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.eq(session.user.id))
        .one(state.db.conn())
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    let role = member.role;
    let txn = state.db.begin().await?;
    let issued =
        tokens::issue(&*txn, state, session.user.clone(), workspace_id, role, None).await?;
    txn.commit().await?;
    Ok(issued)
}
