//! The Planner's step: one model call that answers with the plan, which is
//! validated and stored as tasks before the workroom moves to EXECUTING.

use entity::enums::Role;
use entity::workroom;
use serde_json::json;
use uuid::Uuid;

use super::{
    context,
    steps::{self, begin, charge, reserve_or_pause, Failure, Next},
    stream::{self, Ending},
    Engine,
};
use crate::{
    agent::{service::system, AgentKind},
    error::AppResult,
    llm::{PlanSpec, Purpose},
    task::plan,
    tool::registry::{self, Tool},
    workroom::{
        events::{self, NewEvent, WorkroomEventKind},
        model::{Trigger, WorkroomState},
        service::{save, transition},
    },
};

#[tracing::instrument(level = "debug", name = "plan", skip_all)]
pub async fn run(engine: &Engine, room: workroom::Model) -> AppResult<Next> {
    let db = engine.state.db.conn();
    let planner = system(db, room.workspace_id, AgentKind::Planner).await?;
    let agents = context::custom_agents(engine, &room).await?;
    let approval = room.approval_role.zip(room.approval_count);
    let mut ctx = context::base(engine, &room).await?;
    ctx.custom_agents = agents.iter().map(context::brief).collect();
    ctx.approval = approval.map(|(role, n)| (role, n as u32));
    let tools = registry::tools_of(db, room.workspace_id, engine.state.config.tools.web).await?;
    ctx.tools = tools
        .iter()
        .filter(|t| t.enabled)
        .map(context::tool_brief)
        .collect();
    ctx.rejections = context::rejections(engine, &room).await?;
    let max = engine.settings.plan_max_tokens;
    let request = context::request(Purpose::Plan, planner.instructions.clone(), ctx, max);
    let prompt_tokens = engine.prompt_tokens(&request);

    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Planning]).await? else {
        return Ok(Next::Again);
    };
    let now = engine.state.clock.now();
    let key = format!("plan:{}:{}", room.id, Uuid::now_v7());
    let estimate = engine.credits_for(prompt_tokens + max);
    let Some(hold) = reserve_or_pause(&txn, &mut room, None, key, estimate, now).await? else {
        txn.commit().await?;
        return Ok(Next::Stop);
    };
    txn.commit().await?;

    let id = room.id;
    let outcome = stream::call(engine, request, prompt_tokens, id, WorkroomState::Planning).await?;

    let txn = engine.state.db.begin().await?;
    let mut room = steps::lock_both(&txn, id)
        .await?
        .ok_or(crate::error::AppError::NotFound("workroom"))?;
    charge(
        engine,
        &txn,
        &mut room,
        &hold,
        outcome.usage.total(),
        Some(planner.id),
        "Planning",
    )
    .await?;
    let ours = engine.holds_lease(&room) && room.state == WorkroomState::Planning;
    let result = match (&outcome.ending, ours) {
        (Ending::Finished, true) => parse(&outcome.text, &agents, approval, &tools),
        (Ending::Failed(err), true) => Err(err.clone()),
        _ => {
            txn.commit().await?;
            return Ok(Next::Again);
        }
    };
    let now = engine.state.clock.now();
    match result {
        Ok(valid) => {
            let tasks = plan::store(&txn, &room, valid, approval, now).await?;
            let summary: Vec<_> = tasks
                .iter()
                .map(|t| json!({ "title": t.title, "kind": t.kind }))
                .collect();
            let event = NewEvent::new(WorkroomEventKind::PlanCreated)
                .data(json!({ "round": room.plan_round, "tasks": summary }));
            events::append(&txn, &mut room, event, now).await?;
            transition(&txn, &mut room, Trigger::PlanStored, None, None, now).await?;
            steps::count_step(&txn, "planning", "completed");
        }
        Err(reason) => {
            room.plan_failures += 1;
            steps::count_step(&txn, "planning", "failed");
            tracing::warn!(workroom = %room.id, attempt = room.plan_failures, %reason, "planning attempt failed");
            let attempts = i32::try_from(engine.settings.task_attempts.max(1)).unwrap_or(i32::MAX);
            if room.plan_failures >= attempts {
                steps::fail(&txn, &mut room, Failure::PlanningFailed, &reason, now).await?;
            } else {
                save(&txn, &room).await?;
            }
        }
    }
    txn.commit().await?;
    Ok(Next::Again)
}

fn parse(
    text: &str,
    agents: &[entity::agent::Model],
    approval: Option<(Role, i32)>,
    tools: &[Tool],
) -> Result<plan::ValidPlan, String> {
    let spec: PlanSpec = serde_json::from_str(text.trim())
        .map_err(|e| format!("the plan is not valid JSON: {e}"))?;
    let ids: Vec<Uuid> = agents.iter().map(|a| a.id).collect();
    let checks = plan::Checks {
        custom_agents: &ids,
        approval,
        tools,
    };
    plan::validate(&spec, &checks).map_err(|e| e.0)
}
