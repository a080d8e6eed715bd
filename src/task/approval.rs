//! Granting an APPROVAL task: distinct members whose role is at least the
//! task's required role (viewers never); once enough have granted, the task
//! completes and the run goes on.

use entity::{approval_grant, task};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::{TaskKind, TaskState};
use crate::{
    activity::{self, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    member::Role,
    state::AppState,
    workroom::events::{self, NewEvent, WorkroomEventKind},
};

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<task::Model> {
    task::Entity::find_by_id(id)
        .filter(task::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("task"))
}

/// What an APPROVAL task needs: a role (MEMBER unless the workroom's
/// constraints say otherwise) and a number of grants (1 unless they do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub role: Role,
    pub approvals: i32,
}

impl Requirement {
    pub const DEFAULT_ROLE: Role = Role::Member;
    pub const DEFAULT_APPROVALS: i32 = 1;

    pub fn of(task: &task::Model) -> AppResult<Requirement> {
        let role = match task.assigned_role.as_deref() {
            Some(role) => Role::parse(role)?,
            None => Requirement::DEFAULT_ROLE,
        };
        Ok(Requirement {
            role,
            approvals: task
                .required_approvals
                .unwrap_or(Requirement::DEFAULT_APPROVALS),
        })
    }
}

pub async fn grants(
    db: &impl ConnectionTrait,
    task_id: Uuid,
) -> AppResult<Vec<approval_grant::Model>> {
    Ok(approval_grant::Entity::find()
        .filter(approval_grant::Column::TaskId.eq(task_id))
        .order_by_asc(approval_grant::Column::GrantedAt)
        .all(db)
        .await?)
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, task = %task_id))]
pub async fn grant(state: &AppState, session: &Session, task_id: Uuid) -> AppResult<task::Model> {
    let found = find(state.db.conn(), session.workspace_id, task_id).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let mut room = events::lock(&txn, session.workspace_id, found.workroom_id).await?;
    let me = policy::require_locked(&txn, session, Action::Read).await?;
    let mut row = find(&*txn, session.workspace_id, task_id).await?;
    if TaskKind::parse(&row.kind)? != TaskKind::Approval {
        return Err(AppError::conflict("only an APPROVAL task can be granted"));
    }
    let requirement = Requirement::of(&row)?;
    let required_role = requirement.role;
    if !policy::may_approve(me.role, required_role) {
        return Err(AppError::forbidden(format!(
            "approving this needs the role {} or higher",
            required_role.as_str()
        )));
    }
    if TaskState::parse(&row.state)? != TaskState::AwaitingApproval {
        return Err(AppError::conflict("this task is not waiting for approval"));
    }
    let already = approval_grant::Entity::find()
        .filter(approval_grant::Column::TaskId.eq(row.id))
        .filter(approval_grant::Column::UserId.eq(session.user.id))
        .count(&*txn)
        .await?;
    if already > 0 {
        return Err(AppError::conflict("you already approved this task"));
    }
    let grant = approval_grant::Model {
        id: Uuid::now_v7(),
        workspace_id: row.workspace_id,
        task_id: row.id,
        user_id: session.user.id,
        granted_at: now,
    };
    approval_grant::Entity::insert(grant.into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    let granted = approval_grant::Entity::find()
        .filter(approval_grant::Column::TaskId.eq(row.id))
        .count(&*txn)
        .await? as i32;
    let required = requirement.approvals;
    let event = NewEvent::new(WorkroomEventKind::ApprovalGranted)
        .by(Some(session.user.id))
        .task(row.id)
        .data(json!({ "granted": granted, "required": required }));
    events::append(&txn, &mut room, event, now).await?;
    if granted >= required {
        row.state = TaskState::Completed.as_str().to_owned();
        row.finished_at = Some(now);
        row.clone()
            .into_active_model()
            .reset_all()
            .update(&*txn)
            .await?;
        events::append(
            &txn,
            &mut room,
            NewEvent::new(WorkroomEventKind::TaskCompleted).task(row.id),
            now,
        )
        .await?;
        room.needs_run = true;
        crate::workroom::service::save(&txn, &room).await?;
    }
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: "approval.granted",
        target_type: "Task",
        target_id: Some(ids::encode(Kind::Task, row.id)),
        summary: format!(
            "{} approved {} ({granted} of {required})",
            session.user.name, row.title
        ),
        metadata: json!({ "workroomId": ids::encode(Kind::Workroom, room.id), "granted": granted, "required": required }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    state.work.notify_waiters();
    Ok(row)
}
