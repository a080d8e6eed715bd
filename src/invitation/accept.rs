//! Accepting an invitation: proving who is accepting, then joining under the
//! workspace lock with the seat cap checked again.

use chrono::{DateTime, Utc};
use entity::{invitation, member, user};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::{service::find, InvitationState};
use crate::billing::plans::PlanTable;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{credentials, password, policy, secret, Action, Authn},
    error::{AppError, AppResult},
    identity::{
        self,
        tokens::{self, Issued},
    },
    ids::{self, Kind},
    input::{self, Email},
    state::AppState,
    workspace::service::member_count,
};

/// Who is accepting: proven by a bearer token of the invited user, by the
/// existing account's password, or a new account made from `name` and `password`.
pub struct Acceptance<'a> {
    pub token: &'a str,
    pub name: Option<String>,
    pub password: Option<String>,
    pub authn: &'a Authn,
    /// Where the request came from: password checks are limited per address.
    pub client_ip: &'a str,
}

#[tracing::instrument(skip_all)]
pub async fn accept(state: &AppState, acceptance: Acceptance<'_>) -> AppResult<Issued> {
    let now = state.clock.now();
    let row = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secret::hash(acceptance.token)))
        .one(state.db.conn())
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    ensure_pending(&row, now)?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(row.email.as_str()))
        .one(state.db.conn())
        .await?;
    let new_account = prove_identity(state, &row, existing.as_ref(), &acceptance).await?;

    let txn = state.db.begin().await?;
    let ws = txn.lock_workspace(row.workspace_id).await?;
    // Re-read under the lock: a concurrent accept or revoke may have won.
    let row = find(&*txn, ws.id, row.id).await?;
    ensure_pending(&row, now)?;
    let user = match (existing, new_account) {
        (Some(user), _) => user,
        (None, Some((name, hash))) => {
            identity::service::create_user(&txn, Email::parse(&row.email)?, name, hash, now).await?
        }
        (None, None) => return Err(AppError::Internal("acceptance without an account".into())),
    };
    let is_member = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(ws.id))
        .filter(member::Column::UserId.eq(user.id))
        .one(&*txn)
        .await?;
    if is_member.is_some() {
        return Err(AppError::conflict(
            "you are already a member of this workspace",
        ));
    }
    let plan = ws.plan;
    plan.ensure_seats(member_count(&*txn, ws.id).await? + 1)?;
    let role = row.role;
    let joined = member::Model {
        id: Uuid::now_v7(),
        workspace_id: ws.id,
        user_id: user.id,
        role: row.role,
        joined_at: now,
    };
    member::Entity::insert(joined.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::State,
            Expr::value(InvitationState::Accepted),
        )
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(row.id))
        .exec(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(user.id),
        api_key: None,
        action: ActivityAction::MemberJoined,
        target_type: "Member",
        target_id: Some(ids::encode(Kind::Member, joined.id)),
        summary: format!("{} joined the workspace as {role}", user.name),
        metadata: json!({ "invitationId": ids::encode(Kind::Invitation, row.id), "role": role }),
    };
    activity::record(&txn, ws.id, entry, now).await?;
    let issued = tokens::issue(&*txn, state, user, ws.id, role, None).await?;
    txn.commit().await?;
    Ok(issued)
}

fn ensure_pending(row: &invitation::Model, now: DateTime<Utc>) -> AppResult<()> {
    match super::state_of(row, now) {
        InvitationState::Pending => Ok(()),
        InvitationState::Accepted => Err(AppError::conflict("this invitation was already used")),
        InvitationState::Revoked => Err(AppError::conflict("this invitation was revoked")),
        InvitationState::Expired => Err(AppError::conflict("this invitation has expired")),
    }
}

/// Checks who is accepting. Returns the name and password hash of an account
/// to create when the invited email has none.
async fn prove_identity(
    state: &AppState,
    row: &invitation::Model,
    existing: Option<&user::Model>,
    acceptance: &Acceptance<'_>,
) -> AppResult<Option<(String, String)>> {
    match acceptance.authn {
        Authn::Signed(session) => {
            // An API key is not its creator's sign-in: it never accepts.
            policy::require(session, Action::OwnAccount)?;
            return if existing.is_some_and(|u| u.id == session.user.id) {
                Ok(None)
            } else {
                Err(AppError::forbidden(
                    "this invitation was sent to another email address",
                ))
            };
        }
        Authn::Rejected(reason) => return Err(AppError::Unauthenticated(reason.clone())),
        Authn::Failed(cause) => return Err(AppError::Internal(cause.clone())),
        Authn::Anonymous => {}
    }
    match existing {
        Some(user) => {
            let password = acceptance.password.clone().ok_or_else(|| {
                AppError::bad_input(
                    "an account exists for this email: give its password or sign in",
                )
            })?;
            let email = Email::parse(&row.email)?;
            let client_ip = acceptance.client_ip;
            if !credentials::check_password(state, client_ip, &email, Some(user), &password).await?
            {
                return Err(AppError::Unauthenticated(
                    "wrong password for the invited account".into(),
                ));
            }
            Ok(None)
        }
        None => {
            let (Some(name), Some(password)) = (&acceptance.name, &acceptance.password) else {
                return Err(AppError::bad_input(format!(
                    "no account exists for {}: give a name and a password to create one",
                    row.email
                )));
            };
            let name = input::name(name, "name")?;
            password::validate_new(password)?;
            Ok(Some((name, state.passwords.hash(password.clone()).await?)))
        }
    }
}
