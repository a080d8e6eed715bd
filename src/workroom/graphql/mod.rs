//! The `Workroom` type, its parts, and the workroom queries and mutations.
//!
//! `room` holds the `Workroom` type, `parts` its sources, deliverables and
//! events; this module [`find`] and the history's page sizes.

mod parts;
mod room;

use entity::workroom;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub use parts::{Deliverable, Source, WorkroomEvent};
pub use room::{ApprovalPolicy, Constraints, Workroom};

/// Events a page holds by default, and at most.
/// The history's page size when `first` is not given, and its largest.
pub const EVENTS_DEFAULT: i32 = 100;
pub const EVENTS_MAX: i32 = 1_000;

/// Finds a workroom of the caller's workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<workroom::Model> {
    workroom::Entity::find_by_id(id)
        .filter(workroom::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workroom"))
}
