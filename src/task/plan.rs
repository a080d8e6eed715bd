//! Validating the Planner's plan and storing it as the workroom's tasks.
//!
//! A valid plan is an ordered DAG: every dependency names a task listed
//! before it (so it cannot cycle), AGENT tasks name agents of the workroom
//! (or none, for drafting), there is an APPROVAL task before composing
//! exactly when the constraints ask for one, and exactly one COMPOSE task,
//! last. TOOL tasks name an enabled tool of the workspace, with arguments
//! its JSON Schema accepts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::json_text::JsonText;
use entity::{task, workroom};
use sea_orm::{ActiveEnum, ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{approval::Requirement, TaskKind, TaskState};
use crate::member::Role;
use crate::{
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    llm::{PlanSpec, PlannedTask},
    tool::{arguments, registry::Tool},
};

/// Why a plan was refused (the Planner's attempt then counts as failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPlan(pub String);

/// A tool call a TOOL task will make.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    pub tool: String,
    pub arguments: Value,
    /// Whether each call waits for an approval first.
    pub asks: bool,
}

/// One task of a valid plan.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    title: String,
    kind: TaskKind,
    agent: Option<Uuid>,
    deps: Vec<usize>,
    call: Option<PlannedCall>,
}

/// A plan checked against the workroom, ready to store.
pub struct ValidPlan {
    tasks: Vec<Row>,
}

/// What a plan is checked against: the workroom's custom agents, its
/// approval policy (required role, approvals) and the workspace's tools.
pub struct Checks<'a> {
    pub custom_agents: &'a [Uuid],
    pub approval: Option<(Role, i32)>,
    pub tools: &'a [Tool],
}

/// Checks `spec` against the workroom.
pub fn validate(spec: &PlanSpec, checks: &Checks<'_>) -> Result<ValidPlan, InvalidPlan> {
    let bad = |m: String| Err(InvalidPlan(m));
    if spec.tasks.is_empty() || spec.tasks.len() > 50 {
        return bad("a plan has 1 to 50 tasks".into());
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut tasks = Vec::new();
    for (i, planned) in spec.tasks.iter().enumerate() {
        let Ok(kind) = TaskKind::try_from_value(&planned.kind) else {
            return bad(format!("unknown task kind {}", planned.kind));
        };
        let call = match kind {
            TaskKind::Tool => Some(planned_call(planned, checks.tools)?),
            _ if planned.tool.is_some() || planned.arguments.is_some() => {
                return bad(format!("task {}: only TOOL tasks name a tool", planned.key))
            }
            _ => None,
        };
        let agent = match (&planned.agent_id, kind) {
            (None, _) => None,
            (Some(id), TaskKind::Agent) => match ids::decode(Kind::Agent, id, "agent")
                .ok()
                .filter(|a| checks.custom_agents.contains(a))
            {
                Some(agent) => Some(agent),
                None => return bad(format!("task {}: unknown agent {id}", planned.key)),
            },
            (Some(_), _) => {
                return bad(format!(
                    "task {}: only AGENT tasks have an agent",
                    planned.key
                ))
            }
        };
        let mut deps = Vec::new();
        for dep in &planned.depends_on {
            match index.get(dep.as_str()) {
                Some(&d) => deps.push(d),
                None => {
                    return bad(format!(
                        "task {} depends on {dep}, which is not listed before it",
                        planned.key
                    ))
                }
            }
        }
        if index.insert(planned.key.as_str(), i).is_some() || planned.key.is_empty() {
            return bad(format!("task key {:?} is empty or repeated", planned.key));
        }
        let title = planned.title.trim().chars().take(200).collect::<String>();
        tasks.push(Row {
            title: if title.is_empty() {
                planned.key.clone()
            } else {
                title
            },
            kind,
            agent,
            deps,
            call,
        });
    }
    check_shape(&tasks, checks.approval.is_some())?;
    Ok(ValidPlan { tasks })
}

/// A TOOL task's call: an enabled tool of the workspace, with arguments its
/// input schema accepts.
fn planned_call(planned: &PlannedTask, tools: &[Tool]) -> Result<PlannedCall, InvalidPlan> {
    let key = &planned.key;
    let Some(name) = planned.tool.as_deref() else {
        return Err(InvalidPlan(format!(
            "task {key}: a TOOL task names its tool"
        )));
    };
    let Some(tool) = tools.iter().find(|t| t.name == name) else {
        return Err(InvalidPlan(format!("task {key}: unknown tool {name}")));
    };
    if !tool.enabled {
        return Err(InvalidPlan(format!(
            "task {key}: the tool {name} is disabled"
        )));
    }
    let arguments = planned.arguments.clone().unwrap_or_else(|| json!({}));
    arguments::check(name, &tool.input_schema, &arguments)
        .map_err(|e| InvalidPlan(format!("task {key}: {e}")))?;
    Ok(PlannedCall {
        tool: name.to_owned(),
        arguments,
        asks: tool.requires_approval,
    })
}

/// One COMPOSE, last, reached from every task; APPROVAL exactly when asked, before COMPOSE.
fn check_shape(tasks: &[Row], approval_required: bool) -> Result<(), InvalidPlan> {
    let composes = tasks.iter().filter(|t| t.kind == TaskKind::Compose).count();
    if composes != 1 || tasks.last().map(|t| t.kind) != Some(TaskKind::Compose) {
        return Err(InvalidPlan(
            "a plan ends with exactly one COMPOSE task".into(),
        ));
    }
    let approvals: Vec<usize> = (0..tasks.len())
        .filter(|&i| tasks[i].kind == TaskKind::Approval)
        .collect();
    match (approval_required, approvals.len()) {
        (true, 1) if reaches(tasks, tasks.len() - 1, approvals[0]) => Ok(()),
        (true, _) => Err(InvalidPlan(
            "the constraints ask for one APPROVAL task before COMPOSE".into(),
        )),
        (false, 0) => Ok(()),
        (false, _) => Err(InvalidPlan(
            "no approval is asked for, so a plan has no APPROVAL task".into(),
        )),
    }
}

/// Whether task `from` depends, directly or not, on task `to`.
fn reaches(tasks: &[Row], from: usize, to: usize) -> bool {
    tasks[from]
        .deps
        .iter()
        .any(|&d| d == to || reaches(tasks, d, to))
}

/// Stores a valid plan as the tasks of the workroom's current plan round.
/// APPROVAL tasks, and TOOL tasks whose calls wait for approval, carry the
/// workroom's approval policy (MEMBER × 1 when it has none, for tools).
pub async fn store(
    txn: &WriteTxn,
    room: &workroom::Model,
    plan: ValidPlan,
    approval: Option<(Role, i32)>,
    now: DateTime<Utc>,
) -> AppResult<Vec<task::Model>> {
    let ids: Vec<Uuid> = plan.tasks.iter().map(|_| Uuid::now_v7()).collect();
    let tool_approval =
        approval.unwrap_or((Requirement::DEFAULT_ROLE, Requirement::DEFAULT_APPROVALS));
    let mut stored = Vec::new();
    for (position, row) in plan.tasks.into_iter().enumerate() {
        let asks = match (&row.kind, &row.call) {
            (TaskKind::Approval, _) => approval,
            (_, Some(call)) if call.asks => Some(tool_approval),
            _ => None,
        };
        let row = task::Model {
            id: ids[position],
            workspace_id: room.workspace_id,
            workroom_id: room.id,
            plan_round: room.plan_round,
            position: position as i32,
            title: row.title,
            kind: row.kind,
            state: TaskState::Pending,
            agent_id: row.agent,
            assigned_role: asks.as_ref().map(|(role, _)| *role),
            depends_on: JsonText(row.deps.iter().map(|&d| ids[d]).collect()),
            output: None,
            credits_used: 0,
            attempts: 0,
            failures: 0,
            error: None,
            required_approvals: asks.as_ref().map(|(_, n)| *n),
            tool: row.call.as_ref().map(|c| c.tool.clone()),
            tool_arguments: row.call.as_ref().map(|c| JsonText(c.arguments.clone())),
            rejection_reason: None,
            started_at: None,
            finished_at: None,
            created_at: now,
        };
        task::Entity::insert(row.clone().into_active_model().reset_all())
            .exec_without_returning(&**txn)
            .await?;
        stored.push(row);
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::ToolSource;

    fn task(key: &str, kind: &str, deps: &[&str]) -> PlannedTask {
        PlannedTask {
            key: key.into(),
            title: key.into(),
            kind: kind.into(),
            agent_id: None,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            tool: None,
            arguments: None,
        }
    }

    fn tool_task(key: &str, tool: &str, arguments: Value) -> PlannedTask {
        PlannedTask {
            tool: Some(tool.into()),
            arguments: Some(arguments),
            ..task(key, "TOOL", &[])
        }
    }

    fn spec(tasks: Vec<PlannedTask>) -> PlanSpec {
        PlanSpec { tasks }
    }

    fn lookup(enabled: bool, read_only: bool) -> Tool {
        Tool {
            name: "crm.lookup".into(),
            title: None,
            description: "Looks a client up".into(),
            source: ToolSource::Mcp,
            integration_id: None,
            server: None,
            remote_name: Some("lookup".into()),
            input_schema: json!({
                "type": "object",
                "properties": { "client": { "type": "string" } },
                "required": ["client"]
            }),
            read_only,
            requires_approval: !read_only,
            enabled,
        }
    }

    fn check(
        plan: &PlanSpec,
        approval: Option<(Role, i32)>,
        tools: &[Tool],
    ) -> Result<ValidPlan, InvalidPlan> {
        validate(
            plan,
            &Checks {
                custom_agents: &[],
                approval,
                tools,
            },
        )
    }

    #[test]
    fn a_plan_with_drafting_approval_and_compose_is_valid() {
        let plan = spec(vec![
            task("draft", "AGENT", &[]),
            task("ok", "APPROVAL", &["draft"]),
            task("compose", "COMPOSE", &["ok"]),
        ]);
        assert!(check(&plan, Some((Role::Member, 2)), &[]).is_ok());
        assert!(
            check(&plan, None, &[]).is_err(),
            "an approval nobody asked for"
        );
    }

    #[test]
    fn cycles_unknown_keys_agents_and_misplaced_compose_are_refused() {
        let forward = spec(vec![
            task("a", "AGENT", &["b"]),
            task("b", "COMPOSE", &["a"]),
        ]);
        assert!(
            check(&forward, None, &[]).is_err(),
            "a dependency on a later task could cycle"
        );
        let two = spec(vec![
            task("a", "COMPOSE", &[]),
            task("b", "COMPOSE", &["a"]),
        ]);
        assert!(check(&two, None, &[]).is_err());
        let not_last = spec(vec![task("c", "COMPOSE", &[]), task("a", "AGENT", &["c"])]);
        assert!(check(&not_last, None, &[]).is_err());
        let mut stranger = task("a", "AGENT", &[]);
        stranger.agent_id = Some(ids::encode(Kind::Agent, Uuid::now_v7()));
        assert!(check(
            &spec(vec![stranger, task("c", "COMPOSE", &["a"])]),
            None,
            &[]
        )
        .is_err());
        let skipped = spec(vec![
            task("a", "AGENT", &[]),
            task("ok", "APPROVAL", &[]),
            task("c", "COMPOSE", &["a"]),
        ]);
        assert!(
            check(&skipped, Some((Role::Member, 1)), &[]).is_err(),
            "compose must wait for the approval"
        );
    }

    #[test]
    fn tool_tasks_need_an_enabled_tool_and_arguments_its_schema_accepts() {
        let with = |t: PlannedTask| {
            let mut compose = task("c", "COMPOSE", &["t"]);
            compose.depends_on = vec!["t".into()];
            spec(vec![t, compose])
        };
        let good = with(tool_task("t", "crm.lookup", json!({ "client": "Acme" })));
        let valid = check(&good, None, &[lookup(true, false)]).expect("a valid tool task");
        let call = valid.tasks[0].call.clone().unwrap();
        assert_eq!(call.tool, "crm.lookup");
        assert!(call.asks, "a tool that is not read-only asks first");

        let refused = |plan: &PlanSpec, tools: &[Tool]| check(plan, None, tools).err().unwrap().0;
        assert!(refused(&good, &[]).contains("unknown tool crm.lookup"));
        assert!(refused(&good, &[lookup(false, true)]).contains("disabled"));
        let wrong = with(tool_task("t", "crm.lookup", json!({ "client": 7 })));
        assert!(refused(&wrong, &[lookup(true, true)]).contains("/client"));
        let missing = with(tool_task("t", "crm.lookup", json!({})));
        assert!(refused(&missing, &[lookup(true, true)]).contains("do not match"));
        let unnamed = with(task("t", "TOOL", &[]));
        assert!(refused(&unnamed, &[lookup(true, true)]).contains("names its tool"));
        let mut agent_with_tool = tool_task("t", "crm.lookup", json!({ "client": "A" }));
        agent_with_tool.kind = "AGENT".into();
        assert!(refused(&with(agent_with_tool), &[lookup(true, true)]).contains("only TOOL tasks"));
    }
}
