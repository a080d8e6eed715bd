//! Rejecting an approval: any member who may grant it may instead say no,
//! with a reason. The task (an APPROVAL task, or a TOOL task whose call
//! waits for a person) becomes REJECTED, the workroom goes back to PLANNING
//! (EXECUTING only: a paused workroom is resumed first), the other
//! unfinished tasks are discarded, and the Planner runs again with the
//! reason in its prompt.

use entity::task;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use super::{
    approval::{find, Requirement},
    TaskState,
};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    state::AppState,
    tool::calls,
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        lifecycle::new_plan_round,
        model::Trigger,
        service::transition,
    },
};

/// Longest reason accepted.
pub const MAX_REASON: usize = 2_000;

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, task = %task_id))]
pub async fn reject(
    state: &AppState,
    session: &Session,
    task_id: Uuid,
    reason: &str,
) -> AppResult<task::Model> {
    let reason = input::text(reason, "reason", MAX_REASON)?;
    let found = find(state.db.conn(), session.workspace_id, task_id).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let mut room = events::lock(&txn, session.workspace_id, found.workroom_id).await?;
    let me = policy::require_locked(&txn, session, Action::Work).await?;
    let mut row = find(&*txn, session.workspace_id, task_id).await?;
    if row.state != TaskState::AwaitingApproval {
        return Err(AppError::conflict("this task is not waiting for approval"));
    }
    let required = Requirement::of(&row).role;
    if !policy::may_approve(me.role, required) {
        return Err(AppError::forbidden(format!(
            "rejecting this needs the role {} or higher",
            required
        )));
    }
    let call = calls::waiting_of(&*txn, row.id).await?;
    row.state = TaskState::Rejected;
    row.rejection_reason = Some(reason.clone());
    row.finished_at = Some(now);
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    let mut data = json!({});
    if let Some(call) = call {
        data = json!({ "callId": ids::encode(Kind::ToolCall, call.id), "tool": call.tool });
        calls::reject(&txn, call, now).await?;
    }
    let event = NewEvent::new(WorkroomEventKind::ApprovalRejected)
        .by(Some(session.user.id))
        .task(row.id)
        .text(reason.clone())
        .data(data);
    events::append(&txn, &mut room, event, now).await?;
    transition(
        &txn,
        &mut room,
        Trigger::RejectApproval,
        Some(session.user.id),
        None,
        now,
    )
    .await?;
    let discarded = new_plan_round(&txn, &mut room, session.user.id).await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::ApprovalRejected,
        target_type: "Task",
        target_id: Some(ids::encode(Kind::Task, row.id)),
        summary: format!("{} rejected {}", session.user.name, row.title),
        metadata: json!({
            "workroomId": ids::encode(Kind::Workroom, room.id),
            "reason": reason,
            "discardedTasks": discarded,
        }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    state.interrupted.notify_waiters();
    state.work.notify_waiters();
    Ok(row)
}
