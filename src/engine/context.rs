//! What a call tells the model: the structured context, and the prompt
//! rendered from it for chat models.

use entity::{agent, source, task, workroom, workroom_agent, workroom_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::Engine;
use crate::{
    error::AppResult,
    ids::{self, Kind},
    llm::{
        AgentBrief, ModelContext, ModelRequest, Purpose, Rejection, SourceBrief, StyleBrief,
        ToolBrief,
    },
    task::{TaskKind, TaskState},
    tool::registry::Tool,
};

/// The context every call of a workroom shares.
pub async fn base(engine: &Engine, room: &workroom::Model) -> AppResult<ModelContext> {
    let db = engine.state.db.conn();
    let sources = source::Entity::find()
        .filter(source::Column::WorkroomId.eq(room.id))
        .order_by_asc(source::Column::Id)
        .all(db)
        .await?;
    let deliverables = crate::workroom::service::deliverables_of(db, room.id).await?;
    Ok(ModelContext {
        goal: room.goal.clone(),
        deliverables: deliverables.into_iter().map(|d| d.label).collect(),
        sources: sources
            .into_iter()
            .map(|s| SourceBrief {
                kind: s.kind,
                title: s.title,
                content: s.content,
            })
            .collect(),
        style_override: room.style_override.clone(),
        ..ModelContext::default()
    })
}

pub fn brief(agent: &agent::Model) -> AgentBrief {
    AgentBrief {
        id: ids::encode(Kind::Agent, agent.id),
        name: agent.name.clone(),
        instructions: agent.instructions.clone(),
        client_name: agent.client_name.clone(),
    }
}

/// The voice of the first of `agents` that has learned one.
pub async fn voice(engine: &Engine, agents: &[agent::Model]) -> AppResult<Option<StyleBrief>> {
    let db = engine.state.db.conn();
    for agent in agents {
        if let Some(current) =
            crate::agent::style::current(db, agent.workspace_id, agent.id).await?
        {
            let traits = current.traits.0;
            return Ok(Some(StyleBrief {
                agent: agent.name.clone(),
                summary: current.summary,
                traits,
            }));
        }
    }
    Ok(None)
}

/// The workroom's custom agents, in order.
pub async fn custom_agents(
    engine: &Engine,
    room: &workroom::Model,
) -> AppResult<Vec<agent::Model>> {
    let links = workroom_agent::Entity::find()
        .filter(workroom_agent::Column::WorkroomId.eq(room.id))
        .order_by_asc(workroom_agent::Column::Position)
        .find_also_related(agent::Entity)
        .all(engine.state.db.conn())
        .await?;
    Ok(links.into_iter().filter_map(|(_, a)| a).collect())
}

/// Outputs of completed AGENT and TOOL tasks: those of `only` when given,
/// else all of the workroom. A tool's result is titled with where it came
/// from, so the model can tell it from an agent's notes.
pub async fn outputs(
    engine: &Engine,
    room: &workroom::Model,
    only: Option<&[uuid::Uuid]>,
) -> AppResult<Vec<(String, String)>> {
    let done = crate::task::plan_of(engine.state.db.conn(), room).await?;
    let feeds = [TaskKind::Agent, TaskKind::Tool];
    Ok(done
        .into_iter()
        .filter(|t: &task::Model| feeds.contains(&t.kind) && t.state == TaskState::Completed)
        .filter(|t| only.is_none_or(|ids| ids.contains(&t.id)))
        .filter_map(|t| {
            let title = match &t.tool {
                Some(tool) => format!("{} (the result of the tool {tool})", t.title),
                None => t.title,
            };
            t.output.map(|o| (title, o))
        })
        .collect())
}

/// A tool as the Planner sees it.
pub fn tool_brief(tool: &Tool) -> ToolBrief {
    ToolBrief {
        name: tool.name.clone(),
        description: tool.description.clone(),
        input_schema: tool.input_schema.clone(),
        read_only: tool.read_only,
    }
}

/// Every task an approver rejected in the workroom, oldest first.
pub async fn rejections(engine: &Engine, room: &workroom::Model) -> AppResult<Vec<Rejection>> {
    let rows = task::Entity::find()
        .filter(task::Column::WorkroomId.eq(room.id))
        .filter(task::Column::State.eq(TaskState::Rejected))
        .order_by_asc(task::Column::FinishedAt)
        .order_by_asc(task::Column::Id)
        .all(engine.state.db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| Rejection {
            task_title: t.title,
            tool: t.tool,
            reason: t.rejection_reason.unwrap_or_default(),
        })
        .collect())
}

/// Every revision note so far, oldest first.
pub async fn revision_notes(engine: &Engine, room: &workroom::Model) -> AppResult<Vec<String>> {
    let rows = workroom_event::Entity::find()
        .filter(workroom_event::Column::WorkroomId.eq(room.id))
        .filter(
            workroom_event::Column::Kind
                .eq(crate::workroom::events::WorkroomEventKind::RevisionRequested),
        )
        .order_by_asc(workroom_event::Column::Seq)
        .all(engine.state.db.conn())
        .await?;
    Ok(rows.into_iter().filter_map(|e| e.text).collect())
}

/// A request with its prompt rendered from the context.
pub fn request(
    purpose: Purpose,
    system: String,
    context: ModelContext,
    max_output_tokens: u32,
) -> ModelRequest {
    let prompt = render(purpose, &context);
    ModelRequest {
        purpose,
        system,
        prompt,
        context,
        max_output_tokens,
        functions: Vec::new(),
        exchanges: Vec::new(),
    }
}

fn render(purpose: Purpose, c: &ModelContext) -> String {
    let mut out = format!(
        "Goal:\n{}\n\nDeliverables: {}\n",
        c.goal,
        c.deliverables.join(", ")
    );
    for s in &c.sources {
        out.push_str(&format!(
            "\nSource ({}{}):\n{}\n",
            s.kind,
            s.title
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default(),
            s.content
        ));
    }
    for (title, output) in &c.dependency_outputs {
        out.push_str(&format!("\nFrom \"{title}\":\n{output}\n"));
    }
    if let Some(voice) = &c.voice {
        out.push_str(&format!(
            "\nVoice (learned from {}'s writing samples): {}\nVoice traits: {}\n",
            voice.agent, voice.summary, voice.traits
        ));
    }
    if let Some(style) = &c.style_override {
        out.push_str(&format!("\nStyle: {style}\n"));
    }
    for note in &c.revision_notes {
        out.push_str(&format!("\nRevision note: {note}\n"));
    }
    match purpose {
        Purpose::Plan => {
            for a in &c.custom_agents {
                out.push_str(&format!(
                    "\nAgent {} ({}): {}\n",
                    a.name, a.id, a.instructions
                ));
            }
            if let Some((role, n)) = &c.approval {
                out.push_str(&format!("\nAn approval by {n} member(s) with role {role} or higher is required before composing.\n"));
            }
            for t in &c.tools {
                out.push_str(&format!(
                    "\nTool {}{}: {}\nIts arguments (JSON Schema): {}\n",
                    t.name,
                    if t.read_only { " (read-only)" } else { "" },
                    t.description,
                    t.input_schema
                ));
            }
            for r in &c.rejections {
                out.push_str(&format!(
                    "\nAn approver rejected \"{}\"{}: {}\n",
                    r.task_title,
                    r.tool
                        .as_deref()
                        .map(|t| format!(" (a call of {t})"))
                        .unwrap_or_default(),
                    r.reason
                ));
            }
            out.push_str("\nAnswer with the plan as JSON: {\"tasks\":[{\"key\",\"title\",\"kind\",\"agentId\",\"dependsOn\",\"tool\",\"arguments\"}]}; a TOOL task names one of the tools above and gives arguments its schema accepts.");
        }
        Purpose::Agent => out.push_str(&format!(
            "\nTask: {}\n",
            c.task_title.clone().unwrap_or_default()
        )),
        Purpose::Compose => out.push_str(&format!(
            "\nWrite the deliverable \"{}\" as Markdown.\n",
            c.deliverable.clone().unwrap_or_default()
        )),
    }
    out
}
