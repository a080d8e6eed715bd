//! The lifecycle of a workroom: pause, resume, cancel, replan and revision
//! requests, each a transition of the locked workroom with its event and
//! activity entry, committed together.

use entity::{task, workroom};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{
    events::{self, NewEvent, WorkroomEventKind},
    model::{limits, Trigger},
    service::{begin, save, transition},
};
use crate::{
    activity::ActivityAction, auth::Session, db::WriteTxn, error::AppResult, input,
    state::AppState, task::TaskState,
};

/// The lifecycle mutations that are one transition each.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn pause(state: &AppState, session: &Session, id: Uuid) -> AppResult<workroom::Model> {
    simple(
        state,
        session,
        id,
        Trigger::Pause,
        ActivityAction::WorkroomPaused,
        "paused",
    )
    .await
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn resume(state: &AppState, session: &Session, id: Uuid) -> AppResult<workroom::Model> {
    let room = simple(
        state,
        session,
        id,
        Trigger::Resume,
        ActivityAction::WorkroomResumed,
        "resumed",
    )
    .await?;
    state.work.notify_waiters();
    Ok(room)
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn cancel(state: &AppState, session: &Session, id: Uuid) -> AppResult<workroom::Model> {
    simple(
        state,
        session,
        id,
        Trigger::Cancel,
        ActivityAction::WorkroomCancelled,
        "cancelled",
    )
    .await
}

async fn simple(
    state: &AppState,
    session: &Session,
    id: Uuid,
    trigger: Trigger,
    action: crate::activity::ActivityAction,
    verb: &str,
) -> AppResult<workroom::Model> {
    let mut change = begin(state, session, id).await?;
    let from = change.room.state;
    let to = transition(
        &change.txn,
        &mut change.room,
        trigger,
        Some(session.user.id),
        None,
        change.now,
    )
    .await?;
    let summary = format!("{} {verb} {}", session.user.name, change.named());
    let metadata = json!({ "from": from, "to": to });
    let room = change.finish(session, action, summary, metadata).await?;
    // Running calls of this workroom stop at their next token.
    state.interrupted.notify_waiters();
    Ok(room)
}

/// Discards the unfinished tasks and plans again.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn replan(state: &AppState, session: &Session, id: Uuid) -> AppResult<workroom::Model> {
    let mut change = begin(state, session, id).await?;
    let from = change.room.state;
    transition(
        &change.txn,
        &mut change.room,
        Trigger::Replan,
        Some(session.user.id),
        None,
        change.now,
    )
    .await?;
    let discarded = new_plan_round(&change.txn, &mut change.room, session.user.id).await?;
    let summary = format!(
        "{} asked for a new plan for {}",
        session.user.name,
        change.named()
    );
    let room = change
        .finish(
            session,
            ActivityAction::WorkroomReplanned,
            summary,
            json!({ "from": from, "discardedTasks": discarded }),
        )
        .await?;
    state.interrupted.notify_waiters();
    state.work.notify_waiters();
    Ok(room)
}

/// Opens a new plan round after a replan or a rejection, run by `by`: the
/// tasks that are neither completed nor rejected become DISCARDED (returns
/// how many) and the Planner runs again. The caller moved the workroom to
/// PLANNING.
pub async fn new_plan_round(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    by: Uuid,
) -> AppResult<u64> {
    let kept = [
        TaskState::Completed,
        TaskState::Discarded,
        TaskState::Rejected,
    ];
    let discarded = task::Entity::update_many()
        .col_expr(task::Column::State, Expr::value(TaskState::Discarded))
        .filter(task::Column::WorkroomId.eq(room.id))
        .filter(task::Column::State.is_not_in(kept))
        .exec(&**txn)
        .await?
        .rows_affected;
    room.run_by = Some(by);
    room.plan_round += 1;
    save(txn, room).await?;
    Ok(discarded)
}

#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, workroom = %id))]
pub async fn request_revision(
    state: &AppState,
    session: &Session,
    id: Uuid,
    notes: &str,
) -> AppResult<workroom::Model> {
    let notes = input::text(notes, "notes", limits::MESSAGE)?;
    let mut change = begin(state, session, id).await?;
    transition(
        &change.txn,
        &mut change.room,
        Trigger::RequestRevision,
        Some(session.user.id),
        None,
        change.now,
    )
    .await?;
    change.room.run_by = Some(session.user.id);
    save(&change.txn, &change.room).await?;
    let event = NewEvent::new(WorkroomEventKind::RevisionRequested)
        .by(Some(session.user.id))
        .text(notes.clone());
    events::append(&change.txn, &mut change.room, event, change.now).await?;
    let summary = format!(
        "{} requested a revision of {}",
        session.user.name,
        change.named()
    );
    let room = change
        .finish(
            session,
            ActivityAction::WorkroomRevisionRequested,
            summary,
            json!({ "notes": notes }),
        )
        .await?;
    state.work.notify_waiters();
    Ok(room)
}
