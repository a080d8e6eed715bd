//! Inviting, revoking and listing invitations (accepting is in `accept`).

use chrono::{DateTime, TimeDelta, Utc};
use entity::{email_outbox::SECRET_PLACEHOLDER, invitation, member, user};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::InvitationState;
use crate::billing::plans::PlanTable;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, secret, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    input::Email,
    member::{self as members, Role},
    outbox,
    page::PageArgs,
    state::AppState,
    workspace::service::seats_used,
};

/// Invites `email`; returns the invitation and its one-time accept token.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, role = ?role))]
pub async fn invite(
    state: &AppState,
    session: &Session,
    email: &str,
    role: Option<Role>,
) -> AppResult<(invitation::Model, String)> {
    policy::require(session, Action::ManageMembers)?;
    let email = Email::parse(email)?;
    let role = members::assignable(role.unwrap_or(Role::Member))?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let ws = policy::require_locked(&txn, session, Action::ManageMembers)
        .await?
        .workspace;
    let already_member = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(ws.id))
        .inner_join(user::Entity)
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&*txn)
        .await?;
    if already_member.is_some() {
        return Err(AppError::conflict("this person is already a member"));
    }
    let pending = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(ws.id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(super::in_state(InvitationState::Pending, now))
        .one(&*txn)
        .await?;
    if pending.is_some() {
        return Err(AppError::conflict(
            "this email already has a pending invitation; revoke it to send a new one",
        ));
    }
    let plan = ws.plan;
    // The invitation takes a seat as soon as it is sent.
    plan.ensure_seats(seats_used(&*txn, ws.id, now).await? + 1)?;
    let token = secret::generate();
    let row = invitation::Model {
        id: Uuid::now_v7(),
        workspace_id: ws.id,
        email: email.as_str().to_owned(),
        role,
        token_hash: secret::hash(&token),
        invited_by: Some(session.user.id),
        state: InvitationState::Pending,
        created_at: now,
        expires_at: now + TimeDelta::seconds(state.config.invitation_ttl as i64),
        accepted_at: None,
        revoked_at: None,
    };
    invitation::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    let body = format!(
        "{} invited you to join {} on Atelya as {}.\n\nYour invitation token:\n\n    {SECRET_PLACEHOLDER}\n\nIt can be used once, until {}.\n",
        session.user.name,
        ws.name,
        role,
        row.expires_at.to_rfc3339()
    );
    let mail = outbox::Mail {
        to: email.as_str(),
        subject: format!("Join {} on Atelya", ws.name),
        body,
        secret: Some(&token),
    };
    outbox::enqueue(&txn, &state.sealer, mail, now).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::MemberInvited,
        target_type: "Invitation",
        target_id: Some(ids::encode(Kind::Invitation, row.id)),
        summary: format!(
            "{} invited {} as {}",
            session.user.name,
            email.as_str(),
            role
        ),
        metadata: json!({ "email": email.as_str(), "role": role }),
    };
    activity::record(&txn, ws.id, entry, now).await?;
    txn.commit().await?;
    Ok((row, token))
}

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<invitation::Model> {
    crate::db::found::<invitation::Entity>(db, workspace_id, id, "invitation").await
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, invitation = %id))]
pub async fn revoke(state: &AppState, session: &Session, id: Uuid) -> AppResult<invitation::Model> {
    policy::require(session, Action::ManageMembers)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::ManageMembers).await?;
    let row = find(&*txn, session.workspace_id, id).await?;
    let current = super::state_of(&row, now);
    if current != InvitationState::Pending {
        return Err(AppError::conflict(format!(
            "only a pending invitation can be revoked; this one is {current:?}"
        )));
    }
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::State,
            Expr::value(InvitationState::Revoked),
        )
        .col_expr(invitation::Column::RevokedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(row.id))
        .exec(&*txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::InvitationRevoked,
        target_type: "Invitation",
        target_id: Some(ids::encode(Kind::Invitation, row.id)),
        summary: format!(
            "{} revoked the invitation of {}",
            session.user.name, row.email
        ),
        metadata: json!({ "email": row.email }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    Ok(invitation::Model {
        state: InvitationState::Revoked,
        revoked_at: Some(now),
        ..row
    })
}

/// A page of invitations, newest first, optionally in one state; the cursor is the id.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: Option<InvitationState>,
    page: &PageArgs<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Vec<invitation::Model>> {
    let mut query =
        invitation::Entity::find().filter(invitation::Column::WorkspaceId.eq(workspace_id));
    if let Some(state) = filter {
        query = query.filter(super::in_state(state, now));
    }
    if let Some(after) = page.after {
        query = query.filter(invitation::Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(invitation::Column::Id)
        .limit(page.fetch_limit())
        .all(db)
        .await?)
}
