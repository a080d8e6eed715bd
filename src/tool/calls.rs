//! The `ToolCall` rows of tasks: opened when a call is asked for (waiting
//! for approval) or started, and closed with their result. A TOOL task
//! makes one call at a time; a call whose outcome is unknown after a crash
//! is followed, once a person grants it, by a new call.

use chrono::{DateTime, Utc};
use entity::json_text::JsonText;
use entity::{approval_grant, task, tool_call};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::Value;
use uuid::Uuid;

use super::ToolCallState;
use crate::{db::WriteTxn, error::AppResult};

/// A new call of `tool` by `task` in `state` (not yet stored).
pub fn new_call(
    task: &task::Model,
    tool: &str,
    arguments: &Value,
    read_only: bool,
    state: ToolCallState,
    now: DateTime<Utc>,
) -> tool_call::Model {
    tool_call::Model {
        id: Uuid::now_v7(),
        workspace_id: task.workspace_id,
        workroom_id: task.workroom_id,
        task_id: task.id,
        tool: tool.to_owned(),
        arguments: JsonText(arguments.clone()),
        state,
        read_only,
        result: None,
        is_error: false,
        credits_used: 0,
        instance: None,
        started_at: None,
        finished_at: None,
        created_at: now,
    }
}

pub async fn insert(txn: &WriteTxn, call: &tool_call::Model) -> AppResult<()> {
    tool_call::Entity::insert(call.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    Ok(())
}

pub async fn save(txn: &WriteTxn, call: &tool_call::Model) -> AppResult<()> {
    call.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    Ok(())
}

/// The task's latest call, if any.
pub async fn latest_of(
    db: &impl ConnectionTrait,
    task_id: Uuid,
) -> AppResult<Option<tool_call::Model>> {
    Ok(tool_call::Entity::find()
        .filter(tool_call::Column::TaskId.eq(task_id))
        .order_by_desc(tool_call::Column::CreatedAt)
        .order_by_desc(tool_call::Column::Id)
        .one(db)
        .await?)
}

/// The task's call that waits for a person (for approval, or after an
/// unknown outcome), if any.
pub async fn waiting_of(
    db: &impl ConnectionTrait,
    task_id: Uuid,
) -> AppResult<Option<tool_call::Model>> {
    let waiting = [
        ToolCallState::AwaitingApproval,
        ToolCallState::OutcomeUnknown,
    ];
    Ok(latest_of(db, task_id)
        .await?
        .filter(|call| waiting.contains(&call.state)))
}

/// Since when grants of `call` count: a call whose outcome is unknown needs
/// a new decision, so the grants that let it run the first time do not.
pub fn grants_count_from(call: &tool_call::Model) -> Option<DateTime<Utc>> {
    (call.state == ToolCallState::OutcomeUnknown)
        .then_some(call.finished_at)
        .flatten()
}

/// Whether a grant of `call` counts now (see [`grants_count_from`]).
pub fn counts(grant: &approval_grant::Model, call: &tool_call::Model) -> bool {
    grant.tool_call_id == Some(call.id)
        && grants_count_from(call).is_none_or(|from| grant.granted_at >= from)
}

/// The grants of `call` that count now, oldest first.
pub async fn grants_of(
    db: &impl ConnectionTrait,
    call: &tool_call::Model,
) -> AppResult<Vec<approval_grant::Model>> {
    let mut query =
        approval_grant::Entity::find().filter(approval_grant::Column::ToolCallId.eq(call.id));
    if let Some(from) = grants_count_from(call) {
        query = query.filter(approval_grant::Column::GrantedAt.gte(from));
    }
    Ok(query
        .order_by_asc(approval_grant::Column::GrantedAt)
        .all(db)
        .await?)
}

/// Marks a waiting call REJECTED (its task is rejected with it).
pub async fn reject(
    txn: &WriteTxn,
    mut call: tool_call::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    call.state = ToolCallState::Rejected;
    call.finished_at = Some(now);
    save(txn, &call).await
}
