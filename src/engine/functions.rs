//! Function calling in AGENT tasks: a model that can call functions is
//! offered the workspace's read-only tools that ask no approval, and may
//! call them while it works, at most `ATELYA_MAX_TOOL_CALLS_PER_TASK` times
//! per task (every call it asks for counts, made or refused, so a model
//! that keeps asking still ends).
//!
//! A round is one model call. When it ends asking for calls,
//! [`Calling::answer`] makes each one like a TOOL task's (a `ToolCall` row on the AGENT task,
//! its own hold, TOOL_CALL_STARTED and TOOL_CALL_FINISHED, one charge,
//! `tool.called`, the metrics), or answers why not (a tool not offered,
//! arguments its schema refuses, the limit reached) without making it.
//! It then charges the round's tokens and reserves the next round's hold,
//! and the model is asked again with the answers.

use std::collections::HashSet;

use entity::{credit_hold, task, workroom};
use serde_json::Value;

use super::{
    steps::{self, begin, charge, reserve_or_pause},
    stream::Outcome,
    tool, Engine,
};
use crate::{
    error::{AppError, AppResult},
    llm::{openai::wire_name, Exchange, FunctionCall, ModelRequest},
    tool::{
        arguments,
        calls::new_call,
        registry::{self, Tool},
        ToolCallState,
    },
    workroom::model::WorkroomState,
};

/// The tools a model that calls functions is offered in `room`: enabled,
/// read-only, asking no approval, one per function name. None when the
/// model cannot call functions or the setting allows no call.
pub async fn offered(engine: &Engine, room: &workroom::Model) -> AppResult<Vec<Tool>> {
    if !engine.model.calls_functions() || engine.state.config.tools.max_tool_calls_per_task == 0 {
        return Ok(Vec::new());
    }
    let web = engine.state.config.tools.web;
    let tools = registry::tools_of(engine.state.db.conn(), room.workspace_id, web).await?;
    let mut names = HashSet::new();
    Ok(tools
        .into_iter()
        .filter(|t| t.enabled && t.read_only && !t.requires_approval)
        .filter(|t| names.insert(wire_name(&t.name)))
        .collect())
}

/// An attempt's function calling: the tools offered, how many calls the
/// model asked for so far, and what the next round's request costs.
pub struct Calling {
    offered: Vec<Tool>,
    asked: u32,
    /// The prompt tokens of the request as it stands (counted once a round).
    pub prompt_tokens: u32,
}

impl Calling {
    pub fn new(offered: Vec<Tool>, prompt_tokens: u32) -> Calling {
        Calling {
            offered,
            asked: 0,
            prompt_tokens,
        }
    }

    /// After a round that asked for calls: answers them, adds the round to
    /// `request` (without tools once the limit is reached), charges the
    /// round and reserves the next one's hold. `None`: the workroom stopped
    /// executing, was taken over, or paused for credits; the round's hold
    /// is the caller's to settle.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer(
        &mut self,
        engine: &Engine,
        room: &workroom::Model,
        task: &task::Model,
        hold: &credit_hold::Model,
        round: &Outcome,
        request: &mut ModelRequest,
        billed: uuid::Uuid,
    ) -> AppResult<Option<credit_hold::Model>> {
        let Some(answers) = self.make_all(engine, room, task, &round.calls).await? else {
            return Ok(None);
        };
        request.exchanges.push(Exchange {
            text: round.text.clone(),
            calls: answers,
        });
        if self.asked >= engine.state.config.tools.max_tool_calls_per_task {
            request.functions.clear();
        }
        self.prompt_tokens = engine.prompt_tokens(request);
        let estimate = engine.credits_for(self.prompt_tokens + request.max_output_tokens);
        let number = request.exchanges.len() + 1;
        next_round(engine, room, task, hold, round, billed, number, estimate).await
    }

    /// Answers the calls of one round, in order. `None`: the workroom
    /// stopped executing meanwhile, and nothing more is made.
    async fn make_all(
        &mut self,
        engine: &Engine,
        room: &workroom::Model,
        task: &task::Model,
        calls: &[FunctionCall],
    ) -> AppResult<Option<Vec<(FunctionCall, String)>>> {
        let limit = engine.state.config.tools.max_tool_calls_per_task;
        let mut answers = Vec::with_capacity(calls.len());
        for call in calls {
            self.asked += 1;
            let answer = if self.asked > limit {
                format!(
                    "error: this task may make at most {limit} tool calls; answer with what you have"
                )
            } else {
                match checked(&self.offered, call) {
                    Err(why) => format!("error: {why}"),
                    Ok((tool, arguments)) => {
                        match make(engine, room, task, tool, &arguments).await? {
                            Some(answer) => answer,
                            None => return Ok(None),
                        }
                    }
                }
            };
            answers.push((call.clone(), answer));
        }
        Ok(Some(answers))
    }
}

/// The offered tool a call names, and its arguments if its schema accepts them.
fn checked<'a>(offered: &'a [Tool], call: &FunctionCall) -> Result<(&'a Tool, Value), String> {
    let tool = offered
        .iter()
        .find(|t| t.name == call.name)
        .ok_or_else(|| format!("{} is not a tool this task may call", call.name))?;
    let arguments: Value = serde_json::from_str(&call.arguments)
        .map_err(|e| format!("the arguments of {} are not JSON: {e}", tool.name))?;
    arguments::check(&tool.name, &tool.input_schema, &arguments)?;
    Ok((tool, arguments))
}

/// Makes one call for the task and records it; the answer the model gets
/// (the result, or the error prefixed `error:`), or `None` when the
/// workroom stopped executing.
async fn make(
    engine: &Engine,
    room: &workroom::Model,
    task: &task::Model,
    tool: &Tool,
    arguments: &Value,
) -> AppResult<Option<String>> {
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(None);
    };
    let now = engine.state.clock.now();
    let mut call = new_call(
        task,
        &tool.name,
        arguments,
        true,
        ToolCallState::Running,
        now,
    );
    let credits = i64::from(engine.settings.tool_call_credits);
    let key = format!("tool:{}", call.id);
    let Some(hold) = reserve_or_pause(&txn, &mut room, Some(task.id), key, credits, now).await?
    else {
        txn.commit().await?;
        return Ok(None);
    };
    let place = (room.workspace_id, room.id);
    let recorded = async {
        tool::start_call(engine, &txn, &mut room, &mut call, true, now).await?;
        txn.commit().await
    };
    let (made, started) =
        tool::make_when_recorded(engine, place, tool, arguments, recorded).await?;
    tool::note_server(engine, tool, &made).await;
    let txn = engine.state.db.begin().await?;
    let mut room = steps::lock_both(&txn, room.id)
        .await?
        .ok_or(AppError::NotFound("workroom"))?;
    let (state, text) = tool::record(
        engine, &txn, &mut room, task, &mut call, &hold, tool, &made, started,
    )
    .await?;
    txn.commit().await?;
    if made.answer.is_none() || !engine.holds_lease(&room) {
        return Ok(None);
    }
    Ok(Some(if state == ToolCallState::Completed {
        text
    } else {
        format!("error: {text}")
    }))
}

/// Between rounds, under the lock: reserves the next round's hold
/// (`estimate` credits) and charges the round that asked for calls. `None`:
/// the workroom stopped executing, or paused for credits; the round's hold
/// is then the caller's to settle.
#[allow(clippy::too_many_arguments)]
async fn next_round(
    engine: &Engine,
    room: &workroom::Model,
    task: &task::Model,
    hold: &credit_hold::Model,
    round: &Outcome,
    billed: uuid::Uuid,
    number: usize,
    estimate: i64,
) -> AppResult<Option<credit_hold::Model>> {
    let Some((txn, mut room)) = begin(engine, room.id, &[WorkroomState::Executing]).await? else {
        return Ok(None);
    };
    let now = engine.state.clock.now();
    let key = format!("task:{}:{}:{number}", task.id, task.attempts);
    let next = reserve_or_pause(&txn, &mut room, Some(task.id), key, estimate, now).await?;
    if next.is_none() {
        txn.commit().await?;
        return Ok(None);
    }
    charge(
        engine,
        &txn,
        &mut room,
        hold,
        round.usage.total(),
        Some(billed),
        &task.title,
    )
    .await?;
    txn.commit().await?;
    Ok(next)
}
