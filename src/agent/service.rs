//! The system agents of a workspace, and creating, editing and deleting custom agents.

use chrono::{DateTime, Utc};
use entity::agent;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

use super::AgentKind;
use crate::{
    activity::{self, ActivityAction, NewActivity},
    auth::{policy, Action, Session},
    db::WriteTxn,
    error::{AppError, AppResult},
    ids::{self, Kind},
    state::AppState,
};

/// Creates the Planner and the Composer of a new workspace.
pub async fn create_system_agents(
    txn: &WriteTxn,
    workspace_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let system = [
        (
            AgentKind::Planner,
            "Planner",
            "Turns a workroom's goal into a plan of tasks.",
            "Plan the work: one task per contributing agent, an approval where the constraints ask for one, and composing last.",
        ),
        (
            AgentKind::Composer,
            "Composer",
            "Writes the deliverables from the goal, sources and task outputs.",
            "Write each deliverable as clear Markdown, drawing on the sources and the outputs of the tasks before.",
        ),
    ];
    for (kind, name, description, instructions) in system {
        let row = agent::Model {
            id: Uuid::now_v7(),
            workspace_id,
            kind,
            name: name.to_owned(),
            description: description.to_owned(),
            instructions: instructions.to_owned(),
            client_name: None,
            created_by: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        agent::Entity::insert(row.into_active_model().reset_all())
            .exec_without_returning(&**txn)
            .await?;
    }
    Ok(())
}

/// The workspace's agent of a system kind.
pub async fn system(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    kind: AgentKind,
) -> AppResult<agent::Model> {
    agent::Entity::find()
        .filter(agent::Column::WorkspaceId.eq(workspace_id))
        .filter(agent::Column::Kind.eq(kind))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(format!("workspace has no {kind} agent")))
}

/// The workspace's agents that are not deleted, system agents first.
pub async fn list(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<Vec<agent::Model>> {
    Ok(agent::Entity::find()
        .filter(agent::Column::WorkspaceId.eq(workspace_id))
        .filter(agent::Column::DeletedAt.is_null())
        .order_by_asc(agent::Column::CreatedAt)
        .order_by_asc(agent::Column::Id)
        .all(db)
        .await?)
}

/// Custom agents of the workspace with these ids; any other id is NOT_FOUND.
pub async fn custom_by_ids(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<agent::Model>> {
    let rows = agent::Entity::find()
        .filter(agent::Column::WorkspaceId.eq(workspace_id))
        .filter(agent::Column::Kind.eq(AgentKind::Custom))
        .filter(agent::Column::DeletedAt.is_null())
        .filter(agent::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    if rows.len() != ids.len() {
        return Err(AppError::NotFound("agent"));
    }
    // Keep the order the caller gave.
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|a| a.id == *id).cloned())
        .collect())
}

/// A custom agent as given by a client.
pub struct AgentFields {
    pub name: String,
    pub description: Option<String>,
    pub instructions: String,
    pub client_name: Option<String>,
}

impl AgentFields {
    fn validate(self) -> AppResult<AgentFields> {
        let name = crate::input::name(&self.name, "name")?;
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .unwrap_or_default();
        crate::input::limit(
            &description,
            "description",
            crate::workroom::model::limits::MESSAGE,
        )?;
        let instructions = crate::input::text(
            &self.instructions,
            "instructions",
            crate::workroom::model::limits::GOAL,
        )?;
        let client_name = match self.client_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(crate::input::name(c, "clientName")?),
        };
        Ok(AgentFields {
            name,
            description: Some(description),
            instructions,
            client_name,
        })
    }
}

/// Opens a change to the workspace's agents, checking the caller may make it.
pub(super) async fn begin(
    state: &AppState,
    session: &Session,
) -> AppResult<(WriteTxn, chrono::DateTime<Utc>)> {
    policy::require(session, Action::EditAgents)?;
    let txn = state.db.begin().await?;
    policy::require_locked(&txn, session, Action::EditAgents).await?;
    Ok((txn, state.clock.now()))
}

/// Finds a custom agent of the workspace that is not deleted.
pub(super) async fn find_custom(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<agent::Model> {
    let row = agent::Entity::find_by_id(id)
        .filter(agent::Column::WorkspaceId.eq(workspace_id))
        .filter(agent::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("agent"))?;
    if row.kind != AgentKind::Custom {
        return Err(AppError::conflict(
            "the Planner and the Composer are part of every workspace and cannot be changed",
        ));
    }
    Ok(row)
}

fn entry(
    session: &Session,
    action: crate::activity::ActivityAction,
    row: &agent::Model,
    verb: &str,
) -> NewActivity {
    NewActivity {
        actor_id: Some(session.user.id),
        api_key: session.api_key_id(),
        action,
        target_type: "Agent",
        target_id: Some(ids::encode(Kind::Agent, row.id)),
        summary: format!("{} {verb} the agent {}", session.user.name, row.name),
        metadata: json!({ "name": row.name, "clientName": row.client_name }),
    }
}

#[tracing::instrument(name = "create_agent", skip_all, fields(workspace = %session.workspace_id))]
pub async fn create(
    state: &AppState,
    session: &Session,
    fields: AgentFields,
) -> AppResult<agent::Model> {
    let fields = fields.validate()?;
    let (txn, now) = begin(state, session).await?;
    let row = agent::Model {
        id: Uuid::now_v7(),
        workspace_id: session.workspace_id,
        kind: AgentKind::Custom,
        name: fields.name,
        description: fields.description.unwrap_or_default(),
        instructions: fields.instructions,
        client_name: fields.client_name,
        created_by: Some(session.user.id),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    agent::Entity::insert(row.clone().into_active_model().reset_all())
        .exec_without_returning(&*txn)
        .await?;
    activity::record(
        &txn,
        session.workspace_id,
        entry(session, ActivityAction::AgentCreated, &row, "created"),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

#[tracing::instrument(name = "update_agent", skip_all, fields(workspace = %session.workspace_id, agent = %id))]
pub async fn update(
    state: &AppState,
    session: &Session,
    id: Uuid,
    fields: AgentFields,
) -> AppResult<agent::Model> {
    let fields = fields.validate()?;
    let (txn, now) = begin(state, session).await?;
    let mut row = find_custom(&*txn, session.workspace_id, id).await?;
    row.name = fields.name;
    row.description = fields.description.unwrap_or_default();
    row.instructions = fields.instructions;
    row.client_name = fields.client_name;
    row.updated_at = now;
    save(txn, session, &row, ActivityAction::AgentUpdated, "updated").await?;
    Ok(row)
}

/// Writes a changed agent with its activity entry, and commits.
async fn save(
    txn: WriteTxn,
    session: &Session,
    row: &agent::Model,
    action: crate::activity::ActivityAction,
    verb: &str,
) -> AppResult<()> {
    row.clone()
        .into_active_model()
        .reset_all()
        .update(&*txn)
        .await?;
    activity::record(
        &txn,
        session.workspace_id,
        entry(session, action, row, verb),
        row.updated_at,
    )
    .await?;
    txn.commit().await
}

/// Deletes a custom agent. Workrooms and tasks that used it keep referring to
/// it (their history stays whole); new workrooms cannot pick it.
#[tracing::instrument(skip_all, fields(workspace = %session.workspace_id, agent = %id))]
pub async fn delete(state: &AppState, session: &Session, id: Uuid) -> AppResult<()> {
    let (txn, now) = begin(state, session).await?;
    let mut row = find_custom(&*txn, session.workspace_id, id).await?;
    row.deleted_at = Some(now);
    row.updated_at = now;
    save(txn, session, &row, ActivityAction::AgentDeleted, "deleted").await
}
