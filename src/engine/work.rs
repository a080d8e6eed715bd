//! The executing step: under the workroom lock, decide what is next (an
//! AGENT task whose dependencies are done, an approval to ask for, composing,
//! or waiting), then run an AGENT task's model call.

use entity::{task, workroom};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::json;

use super::{
    context,
    steps::{self, begin, charge, idle, reserve_or_pause, Failure, Next},
    stream::{self, Ending, Outcome},
    Engine,
};
use crate::{
    agent::{service::system, AgentKind},
    db::WriteTxn,
    error::AppResult,
    llm::Purpose,
    task::{depends_on, TaskKind, TaskState},
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        model::{Trigger, WorkroomState},
        service::transition,
    },
};

/// What the plan asks for next.
enum Due {
    Run(task::Model),
    AskApproval(task::Model),
    Compose,
    Wait,
}

fn due(tasks: &[task::Model]) -> Due {
    let done = |id: &uuid::Uuid| {
        tasks
            .iter()
            .any(|t| t.id == *id && t.state == TaskState::Completed.as_str())
    };
    let ready = tasks.iter().find(|t| {
        t.kind != TaskKind::Compose.as_str()
            && t.state == TaskState::Pending.as_str()
            && depends_on(t).iter().all(done)
    });
    match ready {
        Some(t) if t.kind == TaskKind::Approval.as_str() => Due::AskApproval(t.clone()),
        Some(t) => Due::Run(t.clone()),
        None if tasks
            .iter()
            .filter(|t| t.kind != TaskKind::Compose.as_str())
            .all(|t| t.state == TaskState::Completed.as_str()) =>
        {
            Due::Compose
        }
        None => Due::Wait,
    }
}

pub async fn next(engine: &Engine, room: workroom::Model) -> AppResult<Next> {
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(Next::Again);
    };
    let tasks = crate::task::plan_of(&*txn, &room).await?;
    let now = engine.state.clock.now();
    match due(&tasks) {
        Due::Wait => idle(txn, room).await,
        Due::Compose => {
            transition(&txn, &mut room, Trigger::TasksDone, None, None, now).await?;
            txn.commit().await?;
            Ok(Next::Again)
        }
        Due::AskApproval(mut approval) => {
            approval.state = TaskState::AwaitingApproval.as_str().to_owned();
            approval.started_at = Some(now);
            approval
                .clone()
                .into_active_model()
                .reset_all()
                .update(&*txn)
                .await?;
            let needed = crate::task::approval::Requirement::of(&approval)?;
            let needed = json!({ "requiredRole": needed.role.as_str(), "requiredApprovals": needed.approvals });
            let event = NewEvent::new(WorkroomEventKind::ApprovalRequested)
                .task(approval.id)
                .data(needed);
            events::append(&txn, &mut room, event, now).await?;
            txn.commit().await?;
            Ok(Next::Again)
        }
        Due::Run(task) => {
            // Gather the call's context without holding the lock (a read
            // through the pool inside a transaction can starve the pool).
            drop(txn);
            run_agent(engine, room, task).await
        }
    }
}

/// Starts an attempt of `task`: marks it RUNNING and reserves its hold (or pauses for credits).
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
    task.state = TaskState::Running.as_str().to_owned();
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

async fn run_agent(engine: &Engine, room: workroom::Model, task: task::Model) -> AppResult<Next> {
    let db = engine.state.db.conn();
    let agent = match task.agent_id {
        Some(id) => context::custom_agents(engine, &room)
            .await?
            .into_iter()
            .find(|a| a.id == id),
        None => None,
    };
    // The drafting task is the Composer's groundwork; custom agents bill as themselves.
    let billed = match &agent {
        Some(a) => a.id,
        None => system(db, room.workspace_id, AgentKind::Composer).await?.id,
    };
    let mut ctx = context::base(engine, &room).await?;
    ctx.agent = agent.as_ref().map(context::brief);
    ctx.task_title = Some(task.title.clone());
    ctx.dependency_outputs = context::outputs(engine, &room, Some(&depends_on(&task))).await?;
    let system_prompt = agent.as_ref().map_or(
        "Draft the key points for the deliverables.".to_owned(),
        |a| a.instructions.clone(),
    );
    let max = engine.settings.agent_max_tokens;
    let request = context::request(Purpose::Agent, system_prompt, ctx, max);
    let prompt_tokens = engine.prompt_tokens(&request);
    // Under the lock again: start the attempt only if nothing moved meanwhile.
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(Next::Again);
    };
    let mut task = crate::task::approval::find(&*txn, room.workspace_id, task.id).await?;
    if task.state != TaskState::Pending.as_str() {
        return Ok(Next::Again);
    }
    let Some(hold) = start_attempt(
        engine,
        &txn,
        &mut room,
        &mut task,
        engine.credits_for(prompt_tokens + max),
    )
    .await?
    else {
        txn.commit().await?;
        return Ok(Next::Stop);
    };
    txn.commit().await?;

    let outcome = stream::call(
        engine,
        request,
        prompt_tokens,
        room.id,
        WorkroomState::Executing,
    )
    .await?;
    finish(
        engine,
        room,
        task,
        hold,
        outcome,
        billed,
        WorkroomState::Executing,
    )
    .await
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
    let still_expected = room.state == expected.as_str();
    match outcome.ending {
        Ending::Finished if still_expected => {
            task.state = TaskState::Completed.as_str().to_owned();
            task.output = Some(outcome.text);
            task.error = None;
            task.finished_at = Some(now);
            save_task(txn, &task).await?;
            events::append(
                txn,
                room,
                NewEvent::new(WorkroomEventKind::TaskCompleted).task(task.id),
                now,
            )
            .await?;
            return Ok(Concluded::Completed);
        }
        Ending::Failed(reason) if still_expected => {
            task.failures += 1;
            let final_failure = task.failures >= engine.settings.task_attempts.max(1) as i32;
            task.state = if final_failure {
                TaskState::Failed
            } else {
                TaskState::Pending
            }
            .as_str()
            .to_owned();
            task.error = Some(reason.clone());
            save_task(txn, &task).await?;
            let data = json!({ "error": reason, "attempt": task.attempts, "final": final_failure });
            events::append(
                txn,
                room,
                NewEvent::new(WorkroomEventKind::TaskFailed)
                    .task(task.id)
                    .data(data),
                now,
            )
            .await?;
            if final_failure {
                steps::fail(
                    txn,
                    room,
                    Failure::TaskFailed,
                    &format!("{}: {reason}", task.title),
                    now,
                )
                .await?;
            }
        }
        // Interrupted (paused, cancelled, replanned): it runs again on resume.
        _ if task.state == TaskState::Running.as_str() => {
            task.state = TaskState::Pending.as_str().to_owned();
            save_task(txn, &task).await?;
        }
        _ => {}
    }
    Ok(Concluded::NotCompleted)
}

async fn save_task(txn: &WriteTxn, task: &task::Model) -> AppResult<()> {
    task.clone()
        .into_active_model()
        .reset_all()
        .update(&**txn)
        .await?;
    Ok(())
}
