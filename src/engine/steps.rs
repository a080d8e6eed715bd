//! The steps' shared helpers, beneath the phases (`plan`, `work`,
//! `compose`) that the runner calls: calls go one way, runner → phases →
//! steps. A step's transaction locks the workroom, then its workspace, and
//! goes on only while this instance holds the lease and the workroom is in
//! the state the step expects (fencing).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{credit_hold, workroom};
use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;

use super::Engine;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    credit::holds::{self, Attribution},
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    llm::ModelRequest,
    workroom::{
        model::{Trigger, WorkroomState},
        service::transition,
    },
};

/// How often streamed output is flushed to the database and the bus, and the
/// run checks that it may go on.
pub const BATCH: Duration = Duration::from_millis(50);

/// What the run does after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Again,
    Stop,
}

impl Engine {
    /// Whether this instance holds the workroom's lease (the fencing check).
    pub fn holds_lease(&self, room: &workroom::Model) -> bool {
        room.lease_owner.as_deref() == Some(self.instance.as_str())
    }

    /// The tokens a request's prompt costs (system and user parts), as its model counts them.
    /// What a request costs in prompt tokens: its instructions and prompt,
    /// the functions it offers, and the rounds of calls so far.
    pub fn prompt_tokens(&self, request: &ModelRequest) -> u32 {
        let count = |text: &str| self.model.count_tokens(text);
        let functions = request
            .functions
            .iter()
            .map(|f| count(&f.name) + count(&f.description) + count(&f.input_schema.to_string()));
        let exchanges = request.exchanges.iter().map(|e| {
            let calls = e
                .calls
                .iter()
                .map(|(call, answer)| count(&call.name) + count(&call.arguments) + count(answer));
            count(&e.text).saturating_add(calls.fold(0, u32::saturating_add))
        });
        functions
            .chain(exchanges)
            .fold(count(&request.system), u32::saturating_add)
            .saturating_add(count(&request.prompt))
    }
}

/// Opens a step's transaction with the workroom locked, provided this
/// instance holds its lease and it is in one of `states` (any, when empty).
pub async fn begin(
    engine: &Engine,
    id: Uuid,
    states: &[WorkroomState],
) -> AppResult<Option<(WriteTxn, workroom::Model)>> {
    let txn = engine.state.db.begin().await?;
    let Some(room) = lock_both(&txn, id).await? else {
        return Ok(None);
    };
    let ours = engine.holds_lease(&room);
    let state = room.state;
    if !ours || !(states.is_empty() || states.contains(&state)) {
        return Ok(None);
    }
    Ok(Some((txn, room)))
}

/// Locks a workroom, then its workspace, before the transaction writes
/// anything. Engine steps may write the workspace (credits, activity) after
/// writing the workroom; asking for the workspace's lock only then would be a
/// lock upgrade, which deadlocks on PostgreSQL against a transaction queued
/// between (a second update of a row re-checks its foreign key).
pub async fn lock_both(txn: &WriteTxn, id: Uuid) -> AppResult<Option<workroom::Model>> {
    let Some(room) = txn.lock_by_id::<workroom::Entity>(id).await? else {
        return Ok(None);
    };
    txn.hold_workspace(room.workspace_id).await?;
    Ok(Some(room))
}

/// Whether the run may go on: still ours and still in `state` (a plain read, between flushes).
pub async fn still(engine: &Engine, id: Uuid, state: WorkroomState) -> AppResult<bool> {
    let room = workroom::Entity::find_by_id(id)
        .one(engine.state.db.conn())
        .await?;
    Ok(room.is_some_and(|r| engine.holds_lease(&r) && r.state == state))
}

/// Reserves a hold for an attempt, or pauses the workroom for credits (the caller commits).
pub async fn reserve_or_pause(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task_id: Option<Uuid>,
    key: String,
    amount: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<credit_hold::Model>> {
    match holds::reserve(txn, room, task_id, key, amount, now).await? {
        Ok(hold) => Ok(Some(hold)),
        Err(shortfall) => {
            transition(
                txn,
                room,
                Trigger::CreditsRanOut,
                None,
                Some(shortfall.reason()),
                now,
            )
            .await?;
            Ok(None)
        }
    }
}

/// Settles an attempt's hold with its usage.
pub async fn charge(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    hold: &credit_hold::Model,
    tokens: u32,
    agent: Option<Uuid>,
    what: &str,
) -> AppResult<()> {
    let who = Attribution {
        member_user: room.run_by,
        agent,
        description: format!("{what} in {}", room.title),
    };
    holds::settle(
        txn,
        room,
        hold,
        engine.credits_for(tokens),
        who,
        engine.state.clock.now(),
    )
    .await?;
    Ok(())
}

/// Counts one engine step (`planning`, or a task's kind) and how it ended,
/// once `txn` has committed.
pub fn count_step(txn: &WriteTxn, kind: &str, outcome: &'static str) {
    let kind = kind.to_lowercase();
    txn.count_on_commit(move || {
        metrics::counter!(crate::telemetry::ENGINE_STEPS, "kind" => kind, "outcome" => outcome)
            .increment(1)
    });
}

/// Why the engine failed a workroom (its stateReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every planning attempt gave no valid plan.
    PlanningFailed,
    /// A task failed every attempt.
    TaskFailed,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::PlanningFailed => "PLANNING_FAILED",
            Failure::TaskFailed => "TASK_FAILED",
        }
    }
}

/// Fails the workroom for `failure` and records why (`detail`).
pub async fn fail(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    failure: Failure,
    detail: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let reason = failure.as_str();
    transition(txn, room, Trigger::Fail, None, Some(reason), now).await?;
    let summary = format!("{} failed: {detail}", room.title);
    record(
        txn,
        room,
        ActivityAction::WorkroomFailed,
        summary,
        json!({ "reason": reason, "detail": detail }),
        now,
    )
    .await
}

/// An activity entry of the engine (no actor).
pub async fn record(
    txn: &WriteTxn,
    room: &workroom::Model,
    action: crate::activity::ActivityAction,
    summary: String,
    metadata: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let entry = NewActivity {
        actor_id: None,
        api_key: None,
        action,
        target_type: "Workroom",
        target_id: Some(ids::encode(Kind::Workroom, room.id)),
        summary,
        metadata,
    };
    activity::record(txn, room.workspace_id, entry, now).await?;
    Ok(())
}

/// Stops running a workroom that has nothing to do now (it waits for an approval).
pub async fn idle(txn: WriteTxn, mut room: workroom::Model) -> AppResult<Next> {
    room.needs_run = false;
    crate::workroom::service::save(&txn, &room).await?;
    txn.commit().await?;
    Ok(Next::Stop)
}

/// Puts `task` in AWAITING_APPROVAL: APPROVAL_REQUESTED with what it needs
/// (and, for a tool call, the tool, its arguments and the call's state) and
/// the `approval.requested` webhook.
pub async fn ask_approval(
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut entity::task::Model,
    call: Option<&entity::tool_call::Model>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    task.state = crate::task::TaskState::AwaitingApproval;
    task.started_at = task.started_at.or(Some(now));
    super::attempt::save_task(txn, task).await?;
    let needed = crate::task::approval::Requirement::of(task);
    let mut data = serde_json::Map::new();
    data.insert("requiredRole".into(), needed.role.to_string().into());
    data.insert("requiredApprovals".into(), needed.approvals.into());
    let mut hook = data.clone();
    if let Some(call) = call {
        data.insert("callId".into(), ids::encode(Kind::ToolCall, call.id).into());
        data.insert("tool".into(), call.tool.clone().into());
        data.insert("arguments".into(), call.arguments.0.clone());
        data.insert("callState".into(), call.state.to_string().into());
        hook.insert("tool".into(), call.tool.clone().into());
    }
    let event = crate::workroom::events::NewEvent::new(
        crate::workroom::events::WorkroomEventKind::ApprovalRequested,
    )
    .task(task.id)
    .data(data.into());
    crate::workroom::events::append(txn, room, event, now).await?;
    hook.insert(
        "workroomId".into(),
        ids::encode(Kind::Workroom, room.id).into(),
    );
    hook.insert("taskId".into(), ids::encode(Kind::Task, task.id).into());
    crate::webhook::outbox::enqueue(txn, room.workspace_id, "approval.requested", hook, now)
        .await?;
    Ok(())
}
