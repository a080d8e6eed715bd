//! Creating, renaming and reading workspaces.

use chrono::{DateTime, Utc};
use entity::{export_profile, member, user, workspace};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    activity::{self, chain, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    billing::{period::Anchor, plans::TRIAL_CREDITS, Plan},
    credit::{ledger, EntryKind, NewEntry},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    member::Role,
    state::AppState,
};

/// Default accent colour of a new export profile.
pub const DEFAULT_ACCENT: &str = "#1F2937";

/// Creates a workspace on the free trial, owned by `owner`, with its trial
/// credits, default export profile and first activity entry.
pub async fn create(
    txn: &WriteTxn,
    owner: &user::Model,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<(workspace::Model, member::Model)> {
    let name = input::name(name, "workspace name")?;
    let billing = Anchor::at(now)?;
    let ws = workspace::Model {
        id: Uuid::now_v7(),
        name: name.clone(),
        plan: Plan::FreeTrial,
        credit_balance: 0,
        credit_reserved: 0,
        credit_seq: 0,
        activity_seq: 0,
        activity_head: chain::GENESIS.to_owned(),
        billing_anchor: billing.anchor,
        billing_period: 0,
        period_end: billing.period_end,
        period_granted: 0,
        created_at: now,
        updated_at: now,
    };
    workspace::Entity::insert(ws.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    let owner_member = member::Model {
        id: Uuid::now_v7(),
        workspace_id: ws.id,
        user_id: owner.id,
        role: Role::Owner,
        joined_at: now,
    };
    member::Entity::insert(owner_member.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    let profile = export_profile::Model {
        workspace_id: ws.id,
        letterhead: name.clone(),
        accent_color: DEFAULT_ACCENT.to_owned(),
        contact_block: String::new(),
        font: None,
        updated_at: now,
    };
    export_profile::Entity::insert(profile.into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    crate::agent::service::create_system_agents(txn, ws.id, now).await?;
    let grant = NewEntry::new(EntryKind::TrialGrant, TRIAL_CREDITS, "Free trial credits")
        .by(Some(owner.id));
    ledger::append(txn, ws.id, grant, now).await?;
    let entry = NewActivity {
        actor_id: Some(owner.id),
        api_key: None,
        action: ActivityAction::WorkspaceCreated,
        target_type: "Workspace",
        target_id: Some(ids::encode(Kind::Workspace, ws.id)),
        summary: format!("{} created the workspace {}", owner.name, name),
        metadata: json!({ "name": name, "plan": ws.plan }),
    };
    activity::record(txn, ws.id, entry, now).await?;
    let ws = txn.lock_workspace(ws.id).await?;
    Ok((ws, owner_member))
}

/// Renames the session's workspace.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id))]
pub async fn rename(
    state: &AppState,
    session: &Session,
    name: &str,
) -> AppResult<workspace::Model> {
    let txn = state.db.begin().await?;
    let ws = rename_in(&txn, session, name, state.clock.now()).await?;
    txn.commit().await?;
    Ok(ws)
}

async fn rename_in(
    txn: &WriteTxn,
    session: &Session,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<workspace::Model> {
    policy::require(session, Action::ManageWorkspace)?;
    let name = input::name(name, "workspace name")?;
    let ws = policy::require_locked(txn, session, Action::ManageWorkspace)
        .await?
        .workspace;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::Name, Expr::value(name.clone()))
        .col_expr(workspace::Column::UpdatedAt, Expr::value(now))
        .filter(workspace::Column::Id.eq(ws.id))
        .exec(&**txn)
        .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::WorkspaceRenamed,
        target_type: "Workspace",
        target_id: Some(ids::encode(Kind::Workspace, ws.id)),
        summary: format!(
            "{} renamed the workspace from {} to {}",
            session.user.name, ws.name, name
        ),
        metadata: json!({ "from": ws.name, "to": name }),
    };
    activity::record(txn, ws.id, entry, now).await?;
    txn.lock_workspace(ws.id).await
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<workspace::Model> {
    workspace::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workspace"))
}

/// Members plus pending, unexpired invitations.
pub async fn seats_used(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let members = member_count(db, workspace_id).await?;
    let pending = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::WorkspaceId.eq(workspace_id))
        .filter(crate::invitation::in_state(
            crate::invitation::InvitationState::Pending,
            now,
        ))
        .count(db)
        .await?;
    Ok(members + pending as i64)
}

pub async fn member_count(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<i64> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .count(db)
        .await? as i64)
}
