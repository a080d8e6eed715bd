//! Granting an APPROVAL task, or a TOOL task's call that waits for approval:
//! distinct members whose role is at least the task's required role
//! (viewers never); once enough have granted, an APPROVAL task completes and
//! a tool call is made, and the run goes on.

use entity::{approval_grant, task};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::{TaskAction, TaskKind, TaskState};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    member::Role,
    state::AppState,
    tool::calls,
    workroom::events::{self, NewEvent, WorkroomEventKind},
};

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<task::Model> {
    crate::db::found::<task::Entity>(db, workspace_id, id, "task").await
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

    pub fn of(task: &task::Model) -> Requirement {
        Requirement {
            role: task.assigned_role.unwrap_or(Requirement::DEFAULT_ROLE),
            approvals: task
                .required_approvals
                .unwrap_or(Requirement::DEFAULT_APPROVALS),
        }
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
    let kind = row.kind;
    let requirement = Requirement::of(&row);
    let required_role = requirement.role;
    if !policy::may_approve(me.role, required_role) {
        return Err(AppError::forbidden(format!(
            "approving this needs the role {} or higher",
            required_role
        )));
    }
    if row.state != TaskState::AwaitingApproval {
        return Err(AppError::conflict("this task is not waiting for approval"));
    }
    // A TOOL task's approval is of its waiting call.
    let call =
        match kind {
            TaskKind::Approval => None,
            _ => Some(calls::waiting_of(&*txn, row.id).await?.ok_or_else(|| {
                AppError::conflict("no tool call of this task waits for approval")
            })?),
        };
    let call_id = call.as_ref().map(|c| c.id);
    let counted_from = call.as_ref().and_then(calls::grants_count_from);
    let of_this = |query: sea_orm::Select<approval_grant::Entity>| {
        let query = query.filter(approval_grant::Column::TaskId.eq(row.id));
        let query = match counted_from {
            Some(from) => query.filter(approval_grant::Column::GrantedAt.gte(from)),
            None => query,
        };
        match call_id {
            Some(id) => query.filter(approval_grant::Column::ToolCallId.eq(id)),
            None => query.filter(approval_grant::Column::ToolCallId.is_null()),
        }
    };
    let already = of_this(approval_grant::Entity::find())
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
        tool_call_id: call_id,
        granted_at: now,
    };
    approval_grant::Entity::insert(grant.into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    let granted = of_this(approval_grant::Entity::find()).count(&*txn).await? as i32;
    let required = requirement.approvals;
    let mut data = json!({ "granted": granted, "required": required });
    if let Some(call) = &call {
        data["callId"] = ids::encode(Kind::ToolCall, call.id).into();
        data["tool"] = call.tool.clone().into();
    }
    let event = NewEvent::new(WorkroomEventKind::ApprovalGranted)
        .by(Some(session.user.id))
        .task(row.id)
        .data(data);
    events::append(&txn, &mut room, event, now).await?;
    if granted >= required && call.is_some() {
        // Approved: the engine makes the call (again, after an unknown outcome).
        row.state = TaskState::Pending;
        row.clone()
            .into_active_model()
            .reset_all()
            .update(&*txn)
            .await?;
        room.needs_run = true;
        crate::workroom::service::save(&txn, &room).await?;
    } else if granted >= required {
        row.state = TaskState::Completed;
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
        action: ActivityAction::ApprovalGranted,
        target_type: "Task",
        target_id: Some(ids::encode(Kind::Task, row.id)),
        summary: format!(
            "{} approved {} ({granted} of {required})",
            session.user.name, row.title
        ),
        metadata: json!({
            "workroomId": ids::encode(Kind::Workroom, room.id),
            "granted": granted,
            "required": required,
            "tool": call.as_ref().map(|c| c.tool.clone()),
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    state.work.notify_waiters();
    Ok(row)
}

/// What a member with `role` may do to a task waiting for approval that
/// needs `required`: grant it once, and reject it while the workroom is
/// EXECUTING (a paused one is resumed first).
pub fn allowed_actions(
    required: Role,
    role: Role,
    already_granted: bool,
    executing: bool,
) -> Vec<TaskAction> {
    if !policy::may_approve(role, required) {
        return Vec::new();
    }
    let mut actions = Vec::new();
    if !already_granted {
        actions.push(TaskAction::GrantApproval);
    }
    if executing {
        actions.push(TaskAction::RejectApproval);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvers_may_grant_once_and_reject_while_executing() {
        use TaskAction::{GrantApproval as G, RejectApproval as R};
        assert_eq!(
            allowed_actions(Role::Member, Role::Member, false, true),
            [G, R]
        );
        assert_eq!(allowed_actions(Role::Member, Role::Owner, true, true), [R]);
        assert_eq!(
            allowed_actions(Role::Member, Role::Admin, false, false),
            [G]
        );
        assert!(allowed_actions(Role::Admin, Role::Member, false, true).is_empty());
        assert!(allowed_actions(Role::Viewer, Role::Viewer, false, true).is_empty());
    }
}
