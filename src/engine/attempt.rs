//! A task's attempt, shared by the AGENT and COMPOSE phases: starting it
//! (marking the task RUNNING and reserving its hold), and settling it (the
//! charge, then recording whether the task completed, goes back to pending,
//! or failed for good).

use chrono::{DateTime, Utc};
use entity::{task, workroom};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::json;

use super::{
    steps::{self, charge, reserve_or_pause, Failure, Next},
    stream::{Ending, Outcome},
    Engine,
};
use crate::{
    db::WriteTxn,
    error::AppResult,
    task::TaskState,
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        model::WorkroomState,
    },
};

/// Starts an attempt of `task`: marks it RUNNING and reserves its hold (or pauses for credits).
#[tracing::instrument(level = "debug", skip_all, fields(task = %task.id))]
pub async fn start_attempt(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut task::Model,
    estimate: i64,
) -> AppResult<Option<entity::credit_hold::Model>> {
    let now = engine.state.clock.now();
    let key = format!("task:{}:{}", task.id, task.attempts + 1);
    let Some(hold) = reserve_or_pause(txn, room, Some(task.id), key, estimate, now).await? else {
        return Ok(None);
    };
    task.attempts += 1;
    task.state = TaskState::Running;
    task.started_at = Some(now);
    task.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    let event = NewEvent::new(WorkroomEventKind::TaskStarted)
        .task(task.id)
        .data(json!({ "attempt": task.attempts }));
    events::append(txn, room, event, now).await?;
    Ok(Some(hold))
}

/// How an attempt's conclusion went.
#[derive(Debug, PartialEq, Eq)]
pub enum Concluded {
    Completed,
    /// Failed, interrupted, or put back to retry.
    NotCompleted,
    /// Another instance runs the workroom now; it owns the task.
    NotOurs,
}

/// Settles an attempt in its own transaction and records how it ended.
#[tracing::instrument(level = "debug", skip_all, fields(task = %task.id))]
pub async fn finish(
    engine: &Engine,
    room: workroom::Model,
    task: task::Model,
    hold: entity::credit_hold::Model,
    outcome: Outcome,
    billed: uuid::Uuid,
    expected: WorkroomState,
) -> AppResult<Next> {
    let txn = engine.state.db.begin().await?;
    let mut room = steps::lock_both(&txn, room.id)
        .await?
        .ok_or(crate::error::AppError::NotFound("workroom"))?;
    let concluded = conclude(
        engine, &txn, &mut room, &task, &hold, outcome, billed, expected,
    )
    .await?;
    txn.commit().await?;
    Ok(if concluded == Concluded::NotOurs {
        Next::Stop
    } else {
        Next::Again
    })
}

/// Within the caller's transaction (workroom and workspace locked): charges
/// the attempt and records how it ended: completed, put back (after an
/// interruption, or to retry), or failed for good (failing the workroom).
#[allow(clippy::too_many_arguments)]
pub async fn conclude(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &task::Model,
    hold: &entity::credit_hold::Model,
    outcome: Outcome,
    billed: uuid::Uuid,
    expected: WorkroomState,
) -> AppResult<Concluded> {
    charge(
        engine,
        txn,
        room,
        hold,
        outcome.usage.total(),
        Some(billed),
        &task.title,
    )
    .await?;
    if !engine.holds_lease(room) {
        return Ok(Concluded::NotOurs);
    }
    // Read after charging: the charge moved the task's creditsUsed.
    let mut task = crate::task::approval::find(&**txn, room.workspace_id, task.id).await?;
    let now = engine.state.clock.now();
    let still_expected = room.state == expected;
    match outcome.ending {
        Ending::Finished if still_expected => {
            complete_attempt(txn, room, &mut task, outcome.text, now).await?;
            return Ok(Concluded::Completed);
        }
        Ending::Failed(reason) if still_expected => {
            fail_attempt(engine, txn, room, &mut task, &reason, false, now).await?;
        }
        // Interrupted (paused, cancelled, replanned): it runs again on resume.
        _ if task.state == TaskState::Running => {
            task.state = TaskState::Pending;
            save_task(txn, &task).await?;
        }
        _ => {}
    }
    Ok(Concluded::NotCompleted)
}

/// Records a completed attempt: the task's output and TASK_COMPLETED.
pub(super) async fn complete_attempt(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut task::Model,
    output: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    steps::count_step(txn, &task.kind.to_string(), "completed");
    task.state = TaskState::Completed;
    task.output = Some(output);
    task.error = None;
    task.finished_at = Some(now);
    save_task(txn, task).await?;
    let event = NewEvent::new(WorkroomEventKind::TaskCompleted).task(task.id);
    events::append(txn, room, event, now).await?;
    Ok(())
}

/// Records a failed attempt (TASK_FAILED): the task goes back to pending
/// to be tried again, or fails for good, failing the workroom, when
/// `for_good` or when its attempts are spent.
pub(super) async fn fail_attempt(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut task::Model,
    reason: &str,
    for_good: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    task.failures += 1;
    let attempts = i32::try_from(engine.settings.task_attempts.max(1)).unwrap_or(i32::MAX);
    let final_failure = for_good || task.failures >= attempts;
    task.state = if final_failure {
        TaskState::Failed
    } else {
        TaskState::Pending
    };
    task.error = Some(reason.to_owned());
    if final_failure {
        task.finished_at = Some(now);
    }
    steps::count_step(
        txn,
        &task.kind.to_string(),
        if final_failure { "failed" } else { "retried" },
    );
    save_task(txn, task).await?;
    let data = json!({ "error": reason, "attempt": task.attempts, "final": final_failure });
    let event = NewEvent::new(WorkroomEventKind::TaskFailed)
        .task(task.id)
        .data(data);
    events::append(txn, room, event, now).await?;
    if final_failure {
        let detail = format!("{}: {reason}", task.title);
        steps::fail(txn, room, Failure::TaskFailed, &detail, now).await?;
    }
    Ok(())
}

pub(super) async fn save_task(txn: &WriteTxn, task: &task::Model) -> AppResult<()> {
    task.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    Ok(())
}
