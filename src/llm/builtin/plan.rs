//! The Planner's answer: the task plan built from the custom agents, the
//! deliverables and the approval constraint.

use super::{
    phrases::{deliverables_phrase, focus_phrase},
    text::{excerpt, non_empty, strip_end},
    tools::tool_tasks,
};
use crate::llm::{ModelContext, PlanSpec, PlannedTask};

/// The TOOL tasks (see [`super::tools`]), then one AGENT task per custom
/// agent (or one drafting task) drawing on them, then the approval when the
/// constraints ask for one, then the single COMPOSE task last. After a
/// rejection, the agents' tasks say they address its reason.
pub(super) fn plan(ctx: &ModelContext) -> PlanSpec {
    let mut tasks = tool_tasks(ctx);
    let tool_keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let mut agents = agent_tasks(ctx);
    for agent in &mut agents {
        agent.depends_on = tool_keys.clone();
        if let Some(rejection) = ctx.rejections.last() {
            agent.title = format!(
                "{} (addressing a rejection: {})",
                agent.title,
                strip_end(&excerpt(&rejection.reason, 12))
            );
        }
    }
    let agent_keys: Vec<String> = agents.iter().map(|t| t.key.clone()).collect();
    tasks.extend(agents);
    let mut compose_deps = agent_keys.clone();
    if let Some((role, count)) = &ctx.approval {
        tasks.push(PlannedTask {
            key: "approval".into(),
            title: format!("Approval before composing ({count} × {role})"),
            kind: "APPROVAL".into(),
            agent_id: None,
            depends_on: agent_keys,
            tool: None,
            arguments: None,
        });
        compose_deps = vec!["approval".into()];
    }
    tasks.push(PlannedTask {
        key: "compose".into(),
        title: format!("Compose {}", deliverables_phrase(ctx)),
        kind: "COMPOSE".into(),
        agent_id: None,
        depends_on: compose_deps,
        tool: None,
        arguments: None,
    });
    PlanSpec { tasks }
}

pub(super) fn agent_tasks(ctx: &ModelContext) -> Vec<PlannedTask> {
    if ctx.custom_agents.is_empty() {
        return vec![PlannedTask {
            key: "draft".into(),
            title: format!("Draft the key points for {}", deliverables_phrase(ctx)),
            kind: "AGENT".into(),
            agent_id: None,
            depends_on: Vec::new(),
            tool: None,
            arguments: None,
        }];
    }
    let goal = strip_end(&excerpt(&ctx.goal, 12)).to_string();
    let tasks = ctx.custom_agents.iter().enumerate().map(|(i, agent)| {
        let name = non_empty(&agent.name, "Agent");
        let focus = match focus_phrase(&agent.instructions) {
            focus if focus.is_empty() => "contribute their expertise".to_string(),
            focus => focus,
        };
        let title = match goal.as_str() {
            "" => format!("{name}: {focus}"),
            goal => format!("{name}: {focus} (goal: {goal})"),
        };
        PlannedTask {
            key: format!("agent-{}", i + 1),
            title,
            kind: "AGENT".into(),
            agent_id: Some(agent.id.clone()),
            depends_on: Vec::new(),
            tool: None,
            arguments: None,
        }
    });
    tasks.collect()
}

#[cfg(test)]
mod tests {
    use crate::llm::{
        builtin::fixtures::{agent, context, model, request},
        ModelContext, PlanSpec, Purpose,
    };

    fn plan_of(ctx: ModelContext) -> PlanSpec {
        serde_json::from_str(&model().output_text(&request(Purpose::Plan, ctx, 10_000)))
            .expect("the plan is PlanSpec JSON")
    }

    #[test]
    fn plan_without_custom_agents_drafts_then_composes() {
        let plan = plan_of(context());
        let shape: Vec<(&str, &str)> = plan
            .tasks
            .iter()
            .map(|t| (t.key.as_str(), t.kind.as_str()))
            .collect();
        assert_eq!(shape, [("draft", "AGENT"), ("compose", "COMPOSE")]);
        assert_eq!(plan.tasks[0].agent_id, None);
        assert!(plan.tasks[0].depends_on.is_empty());
        assert!(plan.tasks[0].title.contains("Proposal and Weekly report"));
        assert_eq!(plan.tasks[1].depends_on, ["draft"]);
        assert_eq!(plan.tasks[1].title, "Compose Proposal and Weekly report");
    }

    #[test]
    fn plan_gives_each_custom_agent_a_task() {
        let mut ctx = context();
        ctx.custom_agents = vec![
            agent(
                "QWdlbnQ6MQ==",
                "Copywriter",
                "Write punchy, friendly headlines. Avoid jargon.",
            ),
            agent("QWdlbnQ6Mg==", "Analyst", ""),
        ];
        let plan = plan_of(ctx);
        assert_eq!(plan.tasks.len(), 3);
        let (first, second, compose) = (&plan.tasks[0], &plan.tasks[1], &plan.tasks[2]);
        assert_eq!(
            (first.key.as_str(), first.kind.as_str()),
            ("agent-1", "AGENT")
        );
        assert_eq!(first.agent_id.as_deref(), Some("QWdlbnQ6MQ=="));
        assert!(first
            .title
            .starts_with("Copywriter: write punchy, friendly headlines"));
        assert_eq!(second.agent_id.as_deref(), Some("QWdlbnQ6Mg=="));
        assert!(second.title.starts_with("Analyst: "));
        assert_eq!(compose.kind, "COMPOSE");
        assert_eq!(compose.depends_on, ["agent-1", "agent-2"]);
    }

    #[test]
    fn plan_with_approval_puts_it_before_the_single_compose() {
        let mut ctx = context();
        ctx.custom_agents = vec![
            agent("a1", "Copywriter", "Write."),
            agent("a2", "Analyst", "Check numbers."),
        ];
        ctx.approval = Some((entity::enums::Role::Admin, 2));
        let plan = plan_of(ctx);
        let kinds: Vec<&str> = plan.tasks.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["AGENT", "AGENT", "APPROVAL", "COMPOSE"]);
        let approval = &plan.tasks[2];
        assert_eq!(approval.title, "Approval before composing (2 × ADMIN)");
        assert_eq!(approval.depends_on, ["agent-1", "agent-2"]);
        assert_eq!(plan.tasks[3].depends_on, ["approval"]);
        // Keys are unique and every dependency names an earlier task.
        for (i, task) in plan.tasks.iter().enumerate() {
            assert!(plan.tasks[..i].iter().all(|t| t.key != task.key));
            for dep in &task.depends_on {
                assert!(plan.tasks[..i].iter().any(|t| &t.key == dep), "{dep}");
            }
        }
    }

    #[test]
    fn tool_tasks_come_first_and_agents_draw_on_them_and_rejections_show() {
        let mut ctx = context();
        ctx.goal = "Proposal like our last one".into();
        ctx.tools = crate::tool::builtin::catalog(false)
            .into_iter()
            .map(|b| crate::llm::ToolBrief {
                name: b.name.into(),
                description: b.description.into(),
                input_schema: b.input_schema,
                read_only: true,
            })
            .collect();
        ctx.rejections = vec![crate::llm::Rejection {
            task_title: "Approval".into(),
            tool: None,
            reason: "Use the spring prices, not the winter ones.".into(),
        }];
        let plan = plan_of(ctx);
        let kinds: Vec<&str> = plan.tasks.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["TOOL", "AGENT", "COMPOSE"]);
        assert_eq!(plan.tasks[1].depends_on, ["search"]);
        assert!(
            plan.tasks[1]
                .title
                .ends_with("(addressing a rejection: Use the spring prices, not the winter ones)"),
            "{}",
            plan.tasks[1].title
        );
    }

    #[test]
    fn plan_works_with_an_empty_context() {
        let plan = plan_of(ModelContext::default());
        assert_eq!(plan.tasks.last().map(|t| t.kind.as_str()), Some("COMPOSE"));
        assert_eq!(plan.tasks.len(), 2);
    }
}
