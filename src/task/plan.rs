//! Validating the Planner's plan and storing it as the workroom's tasks.
//!
//! A valid plan is an ordered DAG: every dependency names a task listed
//! before it (so it cannot cycle), AGENT tasks name agents of the workroom
//! (or none, for drafting), there is an APPROVAL task before composing
//! exactly when the constraints ask for one, and exactly one COMPOSE task,
//! last. TOOL tasks need a registered tool; none are registered yet.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{task, workroom};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use super::{TaskKind, TaskState};
use crate::{
    db::WriteTxn,
    error::AppResult,
    ids::{self, Kind},
    llm::PlanSpec,
};

/// Why a plan was refused (the Planner's attempt then counts as failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPlan(pub String);

/// A plan checked against the workroom, ready to store.
pub struct ValidPlan {
    tasks: Vec<(String, TaskKind, Option<Uuid>, Vec<usize>)>,
}

/// Checks `spec` for a workroom with these custom agents and approval policy.
pub fn validate(
    spec: &PlanSpec,
    custom_agents: &[Uuid],
    approval: Option<(String, i32)>,
) -> Result<ValidPlan, InvalidPlan> {
    let bad = |m: String| Err(InvalidPlan(m));
    if spec.tasks.is_empty() || spec.tasks.len() > 50 {
        return bad("a plan has 1 to 50 tasks".into());
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut tasks = Vec::new();
    for (i, planned) in spec.tasks.iter().enumerate() {
        let Ok(kind) = TaskKind::parse(&planned.kind) else {
            return bad(format!("unknown task kind {}", planned.kind));
        };
        if kind == TaskKind::Tool {
            return bad(format!("task {}: no tool is registered", planned.key));
        }
        let agent = match (&planned.agent_id, kind) {
            (None, _) => None,
            (Some(id), TaskKind::Agent) => match ids::decode(Kind::Agent, id, "agent")
                .ok()
                .filter(|a| custom_agents.contains(a))
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
        tasks.push((
            if title.is_empty() {
                planned.key.clone()
            } else {
                title
            },
            kind,
            agent,
            deps,
        ));
    }
    check_shape(&tasks, approval.is_some())?;
    Ok(ValidPlan { tasks })
}

type Row = (String, TaskKind, Option<Uuid>, Vec<usize>);

/// One COMPOSE, last, reached from every task; APPROVAL exactly when asked, before COMPOSE.
fn check_shape(tasks: &[Row], approval_required: bool) -> Result<(), InvalidPlan> {
    let composes = tasks.iter().filter(|t| t.1 == TaskKind::Compose).count();
    if composes != 1 || tasks.last().map(|t| t.1) != Some(TaskKind::Compose) {
        return Err(InvalidPlan(
            "a plan ends with exactly one COMPOSE task".into(),
        ));
    }
    let approvals: Vec<usize> = (0..tasks.len())
        .filter(|&i| tasks[i].1 == TaskKind::Approval)
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
        .3
        .iter()
        .any(|&d| d == to || reaches(tasks, d, to))
}

/// Stores a valid plan as the tasks of the workroom's current plan round.
pub async fn store(
    txn: &WriteTxn,
    room: &workroom::Model,
    plan: ValidPlan,
    approval: Option<(String, i32)>,
    now: DateTime<Utc>,
) -> AppResult<Vec<task::Model>> {
    let ids: Vec<Uuid> = plan.tasks.iter().map(|_| Uuid::now_v7()).collect();
    let mut stored = Vec::new();
    for (position, (title, kind, agent, deps)) in plan.tasks.into_iter().enumerate() {
        let is_approval = kind == TaskKind::Approval;
        let row = task::Model {
            id: ids[position],
            workspace_id: room.workspace_id,
            workroom_id: room.id,
            plan_round: room.plan_round,
            position: position as i32,
            title,
            kind: kind.as_str().to_owned(),
            state: TaskState::Pending.as_str().to_owned(),
            agent_id: agent,
            assigned_role: approval
                .as_ref()
                .filter(|_| is_approval)
                .map(|(role, _)| role.clone()),
            depends_on: json!(deps.iter().map(|&d| ids[d]).collect::<Vec<_>>()).to_string(),
            output: None,
            credits_used: 0,
            attempts: 0,
            failures: 0,
            error: None,
            required_approvals: approval.as_ref().filter(|_| is_approval).map(|(_, n)| *n),
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
    use crate::llm::PlannedTask;

    fn task(key: &str, kind: &str, deps: &[&str]) -> PlannedTask {
        PlannedTask {
            key: key.into(),
            title: key.into(),
            kind: kind.into(),
            agent_id: None,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn spec(tasks: Vec<PlannedTask>) -> PlanSpec {
        PlanSpec { tasks }
    }

    #[test]
    fn a_plan_with_drafting_approval_and_compose_is_valid() {
        let plan = spec(vec![
            task("draft", "AGENT", &[]),
            task("ok", "APPROVAL", &["draft"]),
            task("compose", "COMPOSE", &["ok"]),
        ]);
        assert!(validate(&plan, &[], Some(("MEMBER".into(), 2))).is_ok());
        assert!(
            validate(&plan, &[], None).is_err(),
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
            validate(&forward, &[], None).is_err(),
            "a dependency on a later task could cycle"
        );
        let two = spec(vec![
            task("a", "COMPOSE", &[]),
            task("b", "COMPOSE", &["a"]),
        ]);
        assert!(validate(&two, &[], None).is_err());
        let not_last = spec(vec![task("c", "COMPOSE", &[]), task("a", "AGENT", &["c"])]);
        assert!(validate(&not_last, &[], None).is_err());
        let mut stranger = task("a", "AGENT", &[]);
        stranger.agent_id = Some(ids::encode(Kind::Agent, Uuid::now_v7()));
        assert!(validate(
            &spec(vec![stranger, task("c", "COMPOSE", &["a"])]),
            &[],
            None
        )
        .is_err());
        let tool = spec(vec![task("t", "TOOL", &[]), task("c", "COMPOSE", &["t"])]);
        assert!(validate(&tool, &[], None).is_err());
        let skipped = spec(vec![
            task("a", "AGENT", &[]),
            task("ok", "APPROVAL", &[]),
            task("c", "COMPOSE", &["a"]),
        ]);
        assert!(
            validate(&skipped, &[], Some(("MEMBER".into(), 1))).is_err(),
            "compose must wait for the approval"
        );
    }
}
