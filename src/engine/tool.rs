//! TOOL tasks: one call of a workspace tool, at most once for side effects.
//!
//! Under the workroom lock the step decides: a tool that is gone, disabled
//! or whose schema no longer accepts the arguments fails the task; a tool
//! that requires approval opens a call AWAITING_APPROVAL and waits for
//! people; an approved call, or a tool that asks no one, reserves its hold,
//! becomes RUNNING (TASK_STARTED, TOOL_CALL_STARTED) and commits. A call
//! with side effects is made only once that start is committed; a read-only
//! one is made while it commits ([`call_order`]). The call is
//! dropped at once when the workroom is paused, cancelled or replanned, or
//! when its start fails to commit. Its conclusion charges the
//! hold once, records the result on the call and the task
//! (TOOL_CALL_FINISHED, then TASK_COMPLETED or TASK_FAILED) and logs
//! `tool.called`.
//!
//! After a crash, [`recover_calls`] finds the calls left RUNNING: a
//! read-only one failed and is made again; any other is OUTCOME_UNKNOWN and
//! its task waits for a person (grant: call again; reject: replan).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{task, tool_call, workroom};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    attempt::{complete_attempt, fail_attempt, save_task},
    call_order,
    steps::{self, begin, reserve_or_pause, Next, BATCH},
    Engine,
};
use crate::{
    activity::ActivityAction,
    credit::holds::{self, Attribution},
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    member::Role,
    task::{approval::Requirement, TaskState},
    tool::{
        arguments, builtin,
        calls::{self, new_call},
        mcp,
        registry::{self, Tool},
        servers, ToolCallState, ToolSource,
    },
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        model::WorkroomState,
    },
};

/// Longest result text a TOOL_CALL_FINISHED event carries.
const EVENT_TEXT_BYTES: usize = 4 * 1024;

/// A call about to be made: its hold is reserved, its start not yet recorded.
struct Starting {
    call: tool_call::Model,
    hold: entity::credit_hold::Model,
    /// Not stored yet (an approved call waiting for it is).
    fresh: bool,
    now: DateTime<Utc>,
}

/// What the locked step decided.
enum Decision {
    /// Wait for people (approval asked, or already waiting).
    Wait,
    /// Nothing to call: the task failed, or completed from a call that had finished.
    Settled,
    /// Make this call with its hold; [`mark_running`] records its start.
    Call(Box<Starting>),
    /// Paused for credits.
    Paused,
}

#[tracing::instrument(level = "debug", skip_all, fields(task = %task.id))]
pub async fn run(engine: &Engine, room: workroom::Model, task: task::Model) -> AppResult<Next> {
    let db = engine.state.db.conn();
    let web = engine.state.config.tools.web;
    let name = task.tool.clone().unwrap_or_default();
    let tool = registry::find(db, room.workspace_id, web, &name).await?;
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(Next::Again);
    };
    let mut task = crate::task::approval::find(&*txn, room.workspace_id, task.id).await?;
    if task.state != TaskState::Pending {
        return Ok(Next::Again);
    }
    let decision = decide(engine, &txn, &mut room, &mut task, tool.as_ref()).await?;
    let Decision::Call(starting) = decision else {
        txn.commit().await?;
        return Ok(match decision {
            Decision::Paused => Next::Stop,
            _ => Next::Again,
        });
    };
    let Starting {
        mut call,
        hold,
        fresh,
        now,
    } = *starting;
    let tool = tool.expect("a call is made only of a tool that exists");
    let arguments = call.arguments.0.clone();
    let place = (room.workspace_id, room.id);
    let recorded = async {
        mark_running(engine, &txn, &mut room, &mut task, &mut call, fresh, now).await?;
        txn.commit().await
    };
    let (made, started) = make_when_recorded(engine, place, &tool, &arguments, recorded).await?;
    conclude(engine, room, task, call, hold, &tool, made, started).await
}

async fn decide(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut task::Model,
    tool: Option<&Tool>,
) -> AppResult<Decision> {
    let now = engine.state.clock.now();
    let name = task.tool.clone().unwrap_or_default();
    let arguments: Value = task
        .tool_arguments
        .clone()
        .map_or_else(|| json!({}), |a| a.0);
    let unusable = match tool {
        None => Some(format!(
            "the tool {name} is no longer offered in this workspace"
        )),
        Some(t) if !t.enabled => Some(format!("the tool {name} is disabled")),
        Some(t) => arguments::check(&name, &t.input_schema, &arguments).err(),
    };
    if let Some(reason) = unusable {
        fail_attempt(engine, txn, room, task, &reason, true, now).await?;
        return Ok(Decision::Settled);
    }
    let tool = tool.expect("checked above");
    let latest = calls::latest_of(&**txn, task.id).await?;
    // A call that finished while this instance lost the lease: never call twice.
    if let Some(done) = latest
        .as_ref()
        .filter(|c| c.state == ToolCallState::Completed)
    {
        complete_attempt(
            txn,
            room,
            task,
            done.result.clone().unwrap_or_default(),
            now,
        )
        .await?;
        return Ok(Decision::Settled);
    }
    let waiting = latest.filter(|c| {
        c.state == ToolCallState::AwaitingApproval || c.state == ToolCallState::OutcomeUnknown
    });
    let asks = tool.requires_approval || waiting.is_some();
    if asks && task.assigned_role.is_none() {
        let (role, approvals) = policy_of(room);
        task.assigned_role = Some(role);
        task.required_approvals = Some(approvals);
    }
    let approved = match &waiting {
        Some(call) if asks => {
            let granted = calls::grants_of(&**txn, call).await?.len();
            i32::try_from(granted).unwrap_or(i32::MAX) >= Requirement::of(task).approvals
        }
        _ => !asks,
    };
    if !approved {
        let call = match waiting {
            Some(call) => call,
            None => {
                let call = new_call(
                    task,
                    &name,
                    &arguments,
                    tool.read_only,
                    ToolCallState::AwaitingApproval,
                    now,
                );
                calls::insert(txn, &call).await?;
                call
            }
        };
        steps::ask_approval(txn, room, task, Some(&call), now).await?;
        return Ok(Decision::Wait);
    }
    let credits = i64::from(engine.settings.tool_call_credits);
    // The approved call is the one made; after an unknown outcome it is a
    // new call, and the old one stays as it was.
    let call = match waiting {
        Some(approved) if approved.state == ToolCallState::AwaitingApproval => approved,
        _ => new_call(
            task,
            &name,
            &arguments,
            tool.read_only,
            ToolCallState::Running,
            now,
        ),
    };
    let key = format!("tool:{}", call.id);
    let Some(hold) = reserve_or_pause(txn, room, Some(task.id), key, credits, now).await? else {
        return Ok(Decision::Paused);
    };
    let fresh = call.state != ToolCallState::AwaitingApproval;
    Ok(Decision::Call(Box::new(Starting {
        call,
        hold,
        fresh,
        now,
    })))
}

/// Marks the task RUNNING (one more attempt, TASK_STARTED) and its call.
async fn mark_running(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &mut task::Model,
    call: &mut tool_call::Model,
    fresh: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    task.attempts += 1;
    task.state = TaskState::Running;
    task.started_at = Some(now);
    save_task(txn, task).await?;
    let started = NewEvent::new(WorkroomEventKind::TaskStarted)
        .task(task.id)
        .data(json!({ "attempt": task.attempts }));
    events::append(txn, room, started, now).await?;
    start_call(engine, txn, room, call, fresh, now).await
}

/// Marks `call` RUNNING on this instance, stores it (as a new row when
/// `fresh`) and appends TOOL_CALL_STARTED with its arguments.
pub(super) async fn start_call(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    call: &mut tool_call::Model,
    fresh: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    call.state = ToolCallState::Running;
    call.instance = Some(engine.instance.clone());
    call.started_at = Some(now);
    if fresh {
        calls::insert(txn, call).await?;
    } else {
        calls::save(txn, call).await?;
    }
    let event = NewEvent::new(WorkroomEventKind::ToolCallStarted)
        .task(call.task_id)
        .data(json!({
            "callId": ids::encode(Kind::ToolCall, call.id),
            "tool": call.tool,
            "arguments": &*call.arguments,
        }));
    events::append(txn, room, event, now).await?;
    Ok(())
}

/// The approval a workroom asks for: its policy, or MEMBER × 1.
fn policy_of(room: &workroom::Model) -> (Role, i32) {
    match (room.approval_role, room.approval_count) {
        (Some(role), Some(count)) => (role, count),
        _ => (Requirement::DEFAULT_ROLE, Requirement::DEFAULT_APPROVALS),
    }
}

/// How a call went.
pub(super) struct Made {
    /// `None`: abandoned (the workroom was paused, cancelled or replanned).
    pub answer: Option<Result<mcp::Answer, String>>,
}

/// Makes a call whose start `recorded` stores and commits, in the order
/// [`call_order`] sets; returns how it went and when it was sent.
pub(super) async fn make_when_recorded(
    engine: &Engine,
    (workspace_id, workroom_id): (Uuid, Uuid),
    tool: &Tool,
    arguments: &Value,
    recorded: impl std::future::Future<Output = AppResult<()>>,
) -> AppResult<(Made, Instant)> {
    let making = async {
        let started = Instant::now();
        let made = make(engine, (workspace_id, workroom_id), tool, arguments).await;
        (made, started)
    };
    // Both on the heap: a step's future stays small (debug builds poll
    // these nested futures on a worker's 2 MiB stack).
    call_order::after_record(tool.read_only, Box::pin(recorded), Box::pin(making)).await
}

/// Makes the call, dropping it at once if the workroom leaves EXECUTING.
async fn make(
    engine: &Engine,
    (workspace_id, workroom_id): (Uuid, Uuid),
    tool: &Tool,
    arguments: &Value,
) -> Made {
    let work = async {
        match tool.source {
            ToolSource::Builtin => {
                let caller = builtin::Caller {
                    db: engine.state.db.conn(),
                    workspace_id,
                    workroom_id,
                    allow_private: engine.state.config.webhook_allow_private,
                };
                match builtin::call(&caller, &tool.name, arguments).await {
                    Ok(Ok(text)) => Ok(mcp::Answer {
                        text,
                        is_error: false,
                    }),
                    Ok(Err(error)) => Ok(mcp::Answer {
                        text: error,
                        is_error: true,
                    }),
                    Err(err) => Err(format!("the server could not make the call: {err}")),
                }
            }
            ToolSource::Mcp => call_mcp(engine, tool, arguments).await,
        }
    };
    tokio::select! {
        answer = work => Made { answer: Some(answer) },
        _ = abandoned(engine, workroom_id) => Made { answer: None },
    }
}

async fn call_mcp(engine: &Engine, tool: &Tool, arguments: &Value) -> Result<mcp::Answer, String> {
    // The server's row as the registry read it before the step.
    let Some(server) = tool.server.as_deref() else {
        return Err(format!(
            "the server of {} is no longer connected",
            tool.name
        ));
    };
    let endpoint = servers::endpoint_of(&engine.state, server).map_err(|e| e.to_string())?;
    let timeout = Duration::from_millis(engine.state.config.tools.call_timeout_ms.max(1));
    let remote = tool.remote_name.as_deref().unwrap_or(&tool.name);
    let fingerprint = format!("{}|{}", endpoint.url, server.updated_at.timestamp_micros());
    let answer = engine
        .state
        .mcp
        .call(
            (server.workspace_id, server.id),
            fingerprint,
            &endpoint,
            remote,
            arguments,
            timeout,
        )
        .await;
    answer
}

/// Resolves when the workroom is no longer EXECUTING under this instance.
async fn abandoned(engine: &Engine, id: Uuid) {
    // The step just checked, under the lock: the first look is one batch later.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + BATCH, BATCH);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = engine.state.interrupted.notified() => {}
        }
        if !steps::still(engine, id, WorkroomState::Executing)
            .await
            .unwrap_or(true)
        {
            return;
        }
    }
}

/// Records how the call went: the charge (once, whatever happened), the
/// call's state and result, the task's, the events, the activity entry.
#[allow(clippy::too_many_arguments)]
async fn conclude(
    engine: &Engine,
    room: workroom::Model,
    task: task::Model,
    mut call: tool_call::Model,
    hold: entity::credit_hold::Model,
    tool: &Tool,
    made: Made,
    started: Instant,
) -> AppResult<Next> {
    note_server(engine, tool, &made).await;
    let txn = engine.state.db.begin().await?;
    let mut room = steps::lock_both(&txn, room.id)
        .await?
        .ok_or(crate::error::AppError::NotFound("workroom"))?;
    let (state, text) = record(
        engine, &txn, &mut room, &task, &mut call, &hold, tool, &made, started,
    )
    .await?;
    if !engine.holds_lease(&room) {
        // The new owner completes the task from this call, or retries it.
        txn.commit().await?;
        return Ok(Next::Stop);
    }
    let mut task = crate::task::approval::find(&*txn, room.workspace_id, task.id).await?;
    let executing = room.state == WorkroomState::Executing;
    let now = engine.state.clock.now();
    match (made.answer.is_some() && executing, state) {
        (true, ToolCallState::Completed) => {
            complete_attempt(&txn, &mut room, &mut task, text, now).await?
        }
        (true, _) => {
            // A read-only call may be made again; any other is not, without a person.
            fail_attempt(
                engine,
                &txn,
                &mut room,
                &mut task,
                &text,
                !call.read_only,
                now,
            )
            .await?
        }
        (false, _) if task.state == TaskState::Running => {
            task.state = TaskState::Pending;
            save_task(&txn, &task).await?;
        }
        (false, _) => {}
    }
    txn.commit().await?;
    Ok(Next::Again)
}

/// Records the MCP server's health as the call found it (outside any
/// transaction); an abandoned call found nothing.
pub(super) async fn note_server(engine: &Engine, tool: &Tool, made: &Made) {
    let (Some(server), Some(answer)) = (tool.server.as_deref(), &made.answer) else {
        return;
    };
    let failure = answer.as_ref().err().map(String::as_str);
    if let Err(err) = servers::mark(&engine.state, server, failure).await {
        tracing::warn!(error = %err, "could not record the MCP server's status");
    }
}

/// Within the caller's transaction (workroom and workspace locked): charges
/// the call's hold once, whatever happened, saves the call's state and
/// result, appends TOOL_CALL_FINISHED, logs `tool.called` and counts it.
/// Returns the state and the result's text (or why there is none).
#[allow(clippy::too_many_arguments)]
pub(super) async fn record(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    task: &task::Model,
    call: &mut tool_call::Model,
    hold: &entity::credit_hold::Model,
    tool: &Tool,
    made: &Made,
    started: Instant,
) -> AppResult<(ToolCallState, String)> {
    let credits = i64::from(engine.settings.tool_call_credits);
    let who = Attribution {
        member_user: room.run_by,
        agent: None,
        description: format!("Tool call {} in {}", call.tool, room.title),
    };
    let now = engine.state.clock.now();
    let charged = holds::settle(txn, room, hold, credits, who, now)
        .await?
        .unwrap_or(0);
    let (state, text, is_error) = match &made.answer {
        None => (
            ToolCallState::Failed,
            "abandoned: the workroom stopped executing".to_owned(),
            false,
        ),
        Some(Ok(answer)) if !answer.is_error => {
            (ToolCallState::Completed, answer.text.clone(), false)
        }
        Some(Ok(answer)) => (ToolCallState::Failed, answer.text.clone(), true),
        Some(Err(error)) => (ToolCallState::Failed, error.clone(), false),
    };
    call.state = state;
    call.result = Some(text.clone());
    call.is_error = is_error;
    call.credits_used = charged;
    call.instance = None;
    call.finished_at = Some(now);
    calls::save(txn, call).await?;
    let outcome = match made.answer {
        None => "abandoned".to_owned(),
        Some(_) => state.to_string(),
    };
    count(tool, &outcome, started.elapsed());
    let event = NewEvent::new(WorkroomEventKind::ToolCallFinished)
        .task(task.id)
        .text(crate::tool::bounded(text.clone(), EVENT_TEXT_BYTES))
        .data(json!({
            "callId": ids::encode(Kind::ToolCall, call.id),
            "tool": call.tool,
            "state": state,
            "isError": is_error,
        }));
    events::append(txn, room, event, now).await?;
    log_call(txn, room, task, call, now).await?;
    Ok((state, text))
}

/// The `tool.called` activity entry: tool, workroom, task and state, and
/// the arguments with anything that looks like a secret left out; never the result.
async fn log_call(
    txn: &WriteTxn,
    room: &workroom::Model,
    task: &task::Model,
    call: &tool_call::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let entry = crate::activity::NewActivity {
        actor_id: None,
        api_key: None,
        action: ActivityAction::ToolCalled,
        target_type: "Task",
        target_id: Some(ids::encode(Kind::Task, task.id)),
        summary: format!(
            "{} called {} ({})",
            task.title,
            call.tool,
            call.state.to_string().to_lowercase()
        ),
        metadata: json!({
            "tool": call.tool,
            "workroomId": ids::encode(Kind::Workroom, room.id),
            "taskId": ids::encode(Kind::Task, task.id),
            "callId": ids::encode(Kind::ToolCall, call.id),
            "state": call.state,
            "arguments": crate::tool::secrets::redacted(&call.arguments),
        }),
    };
    crate::activity::record(txn, room.workspace_id, entry, now).await?;
    Ok(())
}

fn count(tool: &Tool, outcome: &str, took: Duration) {
    let source = tool.source.name();
    metrics::counter!(crate::telemetry::TOOL_CALLS, "source" => source, "outcome" => outcome.to_lowercase())
        .increment(1);
    metrics::histogram!(crate::telemetry::TOOL_CALL_SECONDS, "source" => source)
        .record(took.as_secs_f64());
}

/// After a takeover (or a failed step): the calls left RUNNING in the
/// workroom. A read-only one failed and its task is made again (its hold is
/// released with the others, nothing charged); any other call may have had
/// its effect, so it is OUTCOME_UNKNOWN, charged once, and its task waits
/// for a person. Runs before the abandoned holds are released.
pub async fn recover_calls(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let running = tool_call::Entity::find()
        .filter(tool_call::Column::WorkroomId.eq(room.id))
        .filter(tool_call::Column::State.eq(ToolCallState::Running))
        .all(&**txn)
        .await?;
    for mut call in running {
        let state = if call.read_only {
            ToolCallState::Failed
        } else {
            ToolCallState::OutcomeUnknown
        };
        call.state = state;
        call.instance = None;
        call.finished_at = Some(now);
        let text = "the instance making the call stopped before its answer";
        call.result = Some(text.to_owned());
        if state == ToolCallState::OutcomeUnknown {
            call.credits_used = charge_unknown(engine, txn, room, &call, now).await?;
        }
        calls::save(txn, &call).await?;
        let event = NewEvent::new(WorkroomEventKind::ToolCallFinished)
            .task(call.task_id)
            .text(text)
            .data(json!({
                "callId": ids::encode(Kind::ToolCall, call.id),
                "tool": call.tool,
                "state": state,
                "isError": false,
            }));
        events::append(txn, room, event, now).await?;
        if state == ToolCallState::OutcomeUnknown {
            let mut task =
                crate::task::approval::find(&**txn, room.workspace_id, call.task_id).await?;
            if task.assigned_role.is_none() {
                let (role, approvals) = policy_of(room);
                task.assigned_role = Some(role);
                task.required_approvals = Some(approvals);
            }
            steps::ask_approval(txn, room, &mut task, Some(&call), now).await?;
        }
    }
    Ok(())
}

/// Charges a call whose outcome is unknown once: it was made.
async fn charge_unknown(
    engine: &Engine,
    txn: &WriteTxn,
    room: &mut workroom::Model,
    call: &tool_call::Model,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let key = format!("tool:{}", call.id);
    let hold = entity::credit_hold::Entity::find()
        .filter(entity::credit_hold::Column::WorkroomId.eq(room.id))
        .filter(entity::credit_hold::Column::AttemptKey.eq(key))
        .one(&**txn)
        .await?;
    let Some(hold) = hold else {
        return Ok(0);
    };
    let who = Attribution {
        member_user: room.run_by,
        agent: None,
        description: format!("Tool call {} in {}", call.tool, room.title),
    };
    let credits = i64::from(engine.settings.tool_call_credits);
    Ok(holds::settle(txn, room, &hold, credits, who, now)
        .await?
        .unwrap_or(0))
}
