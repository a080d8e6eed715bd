//! The executing step: under the workroom lock, decide what is next (an
//! AGENT or TOOL task whose dependencies are done, an approval to ask for,
//! composing, or waiting), then run an AGENT task's model call, with its
//! rounds of function calling when the model asks for tools (made in
//! [`super::functions`]; a TOOL task's call is in [`super::tool`]).
//! Starting an attempt and recording how it ended are in [`super::attempt`].

use entity::{task, workroom};

use super::{
    attempt::{finish, start_attempt},
    context, functions,
    steps::{self, begin, idle, Next},
    stream::{self, Ending},
    Engine,
};
use crate::{
    agent::{service::system, AgentKind},
    error::AppResult,
    llm::Purpose,
    task::{TaskKind, TaskState},
    workroom::{
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
            .any(|t| t.id == *id && t.state == TaskState::Completed)
    };
    let ready = tasks.iter().find(|t| {
        t.kind != TaskKind::Compose
            && t.state == TaskState::Pending
            && t.depends_on.iter().all(done)
    });
    match ready {
        Some(t) if t.kind == TaskKind::Approval => Due::AskApproval(t.clone()),
        Some(t) => Due::Run(t.clone()),
        None if tasks
            .iter()
            .filter(|t| t.kind != TaskKind::Compose)
            .all(|t| t.state == TaskState::Completed) =>
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
            steps::ask_approval(&txn, &mut room, &mut approval, None, now).await?;
            txn.commit().await?;
            Ok(Next::Again)
        }
        Due::Run(task) => {
            // Gather the call's context without holding the lock (a read
            // through the pool inside a transaction can starve the pool).
            drop(txn);
            if task.kind == TaskKind::Tool {
                return super::tool::run(engine, room, task).await;
            }
            run_agent(engine, room, task).await
        }
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(task = %task.id))]
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
    ctx.voice = context::voice(engine, agent.as_slice()).await?;
    ctx.task_title = Some(task.title.clone());
    ctx.dependency_outputs = context::outputs(engine, &room, Some(&task.depends_on)).await?;
    let system_prompt = agent.as_ref().map_or(
        "Draft the key points for the deliverables.".to_owned(),
        |a| a.instructions.clone(),
    );
    let max = engine.settings.agent_max_tokens;
    let mut request = context::request(Purpose::Agent, system_prompt, ctx, max);
    let offered = functions::offered(engine, &room).await?;
    request.functions = offered.iter().map(context::tool_brief).collect();
    let prompt_tokens = engine.prompt_tokens(&request);
    // Under the lock again: start the attempt only if nothing moved meanwhile.
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(Next::Again);
    };
    let mut task = crate::task::approval::find(&*txn, room.workspace_id, task.id).await?;
    if task.state != TaskState::Pending {
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
    let calling = functions::Calling::new(offered, prompt_tokens);
    rounds(engine, room, task, hold, request, calling, billed).await
}

/// The attempt's model calls: one, or, while the model asks for tool calls
/// it was offered, a round more after each answer (see [`functions`]).
async fn rounds(
    engine: &Engine,
    room: workroom::Model,
    task: task::Model,
    mut hold: entity::credit_hold::Model,
    mut request: crate::llm::ModelRequest,
    mut calling: functions::Calling,
    billed: uuid::Uuid,
) -> AppResult<Next> {
    loop {
        let mut outcome = stream::call(
            engine,
            request.clone(),
            calling.prompt_tokens,
            room.id,
            WorkroomState::Executing,
        )
        .await?;
        let asks = outcome.ending == Ending::Finished && !outcome.calls.is_empty();
        if asks && !request.functions.is_empty() {
            let next = calling
                .answer(engine, &room, &task, &hold, &outcome, &mut request, billed)
                .await?;
            match next {
                Some(next) => {
                    hold = next;
                    continue;
                }
                None => outcome.ending = Ending::Interrupted,
            }
        }
        return finish(
            engine,
            room,
            task,
            hold,
            outcome,
            billed,
            WorkroomState::Executing,
        )
        .await;
    }
}
