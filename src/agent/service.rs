//! Creating the system agents and finding agents of a workspace.

use chrono::{DateTime, Utc};
use entity::agent;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::AgentKind;
use crate::{
    db::WriteTxn,
    error::{AppError, AppResult},
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
            kind: kind.as_str().to_owned(),
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
        .filter(agent::Column::Kind.eq(kind.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(format!("workspace has no {} agent", kind.as_str())))
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
        .filter(agent::Column::Kind.eq(AgentKind::Custom.as_str()))
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
