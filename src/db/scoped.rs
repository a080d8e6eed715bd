//! Looking a row up by id within its workspace: another workspace's row is
//! as good as missing.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::error::{AppError, AppResult};

/// A row by id, provided it belongs to the workspace.
pub async fn scoped<E>(
    db: &impl sea_orm::ConnectionTrait,
    id: uuid::Uuid,
    workspace: uuid::Uuid,
) -> AppResult<Option<E::Model>>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
    E::Column: WorkspaceScoped,
{
    Ok(E::find_by_id(id)
        .filter(E::Column::workspace_column().eq(workspace))
        .one(db)
        .await?)
}

/// A row by id of the workspace, or NOT_FOUND naming `what`: another
/// workspace's row is answered exactly as a missing one.
pub async fn found<E>(
    db: &impl sea_orm::ConnectionTrait,
    workspace: uuid::Uuid,
    id: uuid::Uuid,
    what: &'static str,
) -> AppResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
    E::Column: WorkspaceScoped,
{
    scoped::<E>(db, id, workspace)
        .await?
        .ok_or(AppError::NotFound(what))
}

/// Tables whose rows carry their workspace.
pub trait WorkspaceScoped: ColumnTrait {
    fn workspace_column() -> Self;
}

macro_rules! workspace_scoped {
    ($($table:ident),+) => {
        $(impl WorkspaceScoped for entity::$table::Column {
            fn workspace_column() -> Self {
                entity::$table::Column::WorkspaceId
            }
        })+
    };
}

workspace_scoped!(
    agent,
    workroom,
    task,
    deliverable,
    source,
    integration,
    export,
    api_key,
    webhook_endpoint,
    webhook_delivery,
    member,
    invitation
);
