//! Creating a workroom: validated input, the first event, and work for the engine.

use chrono::{DateTime, Utc};
use entity::json_text::JsonText;
use entity::{deliverable, source, workroom, workroom_agent};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use serde_json::json;
use uuid::Uuid;

use super::{
    events::{self, NewEvent},
    model::{limits, SourceKind, WorkroomState},
};
use crate::{
    activity::{self, ActivityAction, NewActivity},
    agent,
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    input,
    member::Role,
    state::AppState,
};

/// A source as given by a client.
pub struct NewSource {
    pub kind: SourceKind,
    pub title: Option<String>,
    pub content: String,
}

/// Constraints as given by a client; `None` leaves a field as it is.
#[derive(Default)]
pub struct ConstraintsPatch {
    pub deadline: Option<DateTime<Utc>>,
    pub max_credits: Option<i64>,
    pub paste_flags: Option<Vec<String>>,
    pub approval: Option<(Role, i32)>,
}

pub struct NewWorkroom {
    pub title: String,
    pub goal: String,
    pub deliverables: Vec<String>,
    pub constraints: ConstraintsPatch,
    pub agent_ids: Vec<Uuid>,
    pub style_override: Option<String>,
    pub sources: Vec<NewSource>,
}

impl ConstraintsPatch {
    pub fn validate(&self) -> AppResult<()> {
        if self.max_credits.is_some_and(|m| m < 1) {
            return Err(AppError::bad_input("maxCredits must be at least 1"));
        }
        if let Some(flags) = &self.paste_flags {
            if flags.len() > limits::PASTE_FLAGS {
                return Err(AppError::bad_input(format!(
                    "at most {} paste flags",
                    limits::PASTE_FLAGS
                )));
            }
            for flag in flags {
                input::name(flag, "a paste flag")?;
            }
        }
        if let Some((_, count)) = self.approval {
            if !(1..=limits::APPROVALS).contains(&count) {
                return Err(AppError::bad_input(format!(
                    "requiredApprovals must be 1 to {}",
                    limits::APPROVALS
                )));
            }
        }
        Ok(())
    }

    /// Writes the given fields onto a workroom row.
    pub fn apply(self, room: &mut workroom::Model) {
        if let Some(deadline) = self.deadline {
            room.deadline = Some(deadline);
        }
        if let Some(max) = self.max_credits {
            room.max_credits = Some(max);
        }
        if let Some(flags) = self.paste_flags {
            room.paste_flags = JsonText(flags.iter().map(|f| f.trim().to_owned()).collect());
        }
        if let Some((role, count)) = self.approval {
            room.approval_role = Some(role);
            room.approval_count = Some(count);
        }
    }
}

/// Checks a source's fields.
pub fn validate_source(source: &NewSource) -> AppResult<()> {
    if let Some(title) = &source.title {
        input::name(title, "source title")?;
    }
    if source.content.trim().is_empty() {
        return Err(AppError::bad_input("source content must not be empty"));
    }
    input::limit(&source.content, "source content", limits::SOURCE)
}

fn validate(new: &NewWorkroom) -> AppResult<(String, String, Vec<String>)> {
    let title = input::name(&new.title, "title")?;
    let goal = input::text(&new.goal, "goal", limits::GOAL)?;
    if new.deliverables.is_empty() || new.deliverables.len() > limits::DELIVERABLES {
        return Err(AppError::bad_input(format!(
            "a workroom has 1 to {} deliverables",
            limits::DELIVERABLES
        )));
    }
    let labels = new
        .deliverables
        .iter()
        .map(|label| input::name(label, "deliverable label"))
        .collect::<AppResult<Vec<_>>>()?;
    let distinct: std::collections::HashSet<_> = new.agent_ids.iter().collect();
    if distinct.len() != new.agent_ids.len() {
        return Err(AppError::bad_input(
            "agentIds lists an agent more than once",
        ));
    }
    if new.agent_ids.len() > limits::AGENTS {
        return Err(AppError::bad_input(format!(
            "at most {} agents per workroom",
            limits::AGENTS
        )));
    }
    if new.sources.len() > limits::SOURCES_AT_CREATION {
        return Err(AppError::bad_input(format!(
            "at most {} sources at creation",
            limits::SOURCES_AT_CREATION
        )));
    }
    new.sources.iter().try_for_each(validate_source)?;
    if let Some(style) = &new.style_override {
        input::limit(style, "styleOverride", limits::STYLE_OVERRIDE)?;
    }
    new.constraints.validate()?;
    Ok((title, goal, labels))
}

/// Creates a workroom in PLANNING with seq 1 STATE_CHANGED(PLANNING).
#[tracing::instrument(name = "create_workroom", skip_all, fields(workspace = %session.workspace_id))]
pub async fn create(
    state: &AppState,
    session: &Session,
    new: NewWorkroom,
) -> AppResult<workroom::Model> {
    policy::require(session, Action::Work)?;
    let (title, goal, labels) = validate(&new)?;
    let adding = new.sources.iter().map(|s| s.content.len() as u64).sum();
    super::sources::ensure_room(0, adding, state.config.limits.sources_max_bytes)?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::Work).await?;
    let agents = agent::service::custom_by_ids(&*txn, session.workspace_id, &new.agent_ids).await?;
    let mut room = workroom::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        title: title.clone(),
        title_key: title.to_lowercase(),
        goal,
        state: WorkroomState::Planning,
        state_reason: None,
        paused_from: None,
        deadline: None,
        max_credits: None,
        paste_flags: JsonText::default(),
        approval_role: None,
        approval_count: None,
        style_override: new.style_override.filter(|s| !s.trim().is_empty()),
        revision_round: 0,
        plan_round: 1,
        plan_failures: 0,
        last_seq: 0,
        credits_spent: 0,
        credits_reserved: 0,
        created_by: Some(session.user.id),
        run_by: Some(session.user.id),
        needs_run: true,
        lease_owner: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
    };
    new.constraints.apply(&mut room);
    workroom::Entity::insert(room.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    insert_parts(&txn, &room, &agents, &labels, new.sources, now).await?;
    events::append(
        &txn,
        &mut room,
        NewEvent::state(WorkroomState::Planning).by(Some(session.user.id)),
        now,
    )
    .await?;
    let entry = NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action: ActivityAction::WorkroomCreated,
        target_type: "Workroom",
        target_id: Some(ids::encode(Kind::Workroom, room.id)),
        summary: format!("{} created the workroom {}", session.user.name, title),
        metadata: json!({ "title": title, "deliverables": labels }),
    };
    activity::record(&txn, session.workspace_id, entry, now).await?;
    txn.commit().await?;
    state.work.notify_waiters();
    Ok(room)
}

async fn insert_parts(
    txn: &WriteTxn,
    room: &workroom::Model,
    agents: &[entity::agent::Model],
    labels: &[String],
    sources: Vec<NewSource>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for (position, agent) in agents.iter().enumerate() {
        let link = workroom_agent::Model {
            workroom_id: room.id,
            agent_id: agent.id,
            position: position as i32,
        };
        workroom_agent::Entity::insert(link.into_active_model().reset_all())
            .exec_without_returning(&**txn)
            .await?;
    }
    for (position, label) in labels.iter().enumerate() {
        let row = deliverable::Model {
            id: Uuid::now_v7(),
            workspace_id: room.workspace_id,
            workroom_id: room.id,
            label: label.clone(),
            position: position as i32,
            content: None,
            version: 0,
            updated_at: now,
        };
        deliverable::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&**txn)
            .await?;
    }
    for new in sources {
        insert_source(txn, room, new, now).await?;
    }
    Ok(())
}

pub async fn insert_source(
    txn: &WriteTxn,
    room: &workroom::Model,
    new: NewSource,
    now: DateTime<Utc>,
) -> AppResult<source::Model> {
    let row = source::Model {
        id: Uuid::now_v7(),
        workspace_id: room.workspace_id,
        workroom_id: room.id,
        kind: new.kind,
        title: new.title.map(|t| t.trim().to_owned()),
        content: new.content,
        created_at: now,
    };
    source::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&**txn)
        .await?;
    Ok(row)
}
