//! Tasks: the steps of a workroom's plan (an ordered DAG), and approvals.
//!
//! - `plan`: validating the Planner's plan and storing it as tasks.
//! - `approval`: granting APPROVAL tasks.
//! - `rejection`: rejecting an approval, which sends the workroom back to its Planner.
//! - `graphql`: `Task`, `Approval`, `grantApproval`, `rejectApproval`.

pub mod approval;
pub mod graphql;
pub mod plan;
pub mod rejection;

use async_graphql::Enum;

use crate::error::AppResult;
pub use entity::enums::{TaskKind, TaskState};

/// What a member may do to a task now (`Task.allowedActions`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    GrantApproval,
    RejectApproval,
}

/// The current plan of a workroom: the tasks of its latest plan round, in
/// order. A replan opens a new round; earlier rounds' tasks stay reachable by
/// id and in the history.
pub async fn plan_of(
    db: &impl sea_orm::ConnectionTrait,
    room: &entity::workroom::Model,
) -> AppResult<Vec<entity::task::Model>> {
    use entity::task;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Ok(task::Entity::find()
        .filter(task::Column::WorkroomId.eq(room.id))
        .filter(task::Column::PlanRound.eq(room.plan_round))
        .filter(task::Column::State.ne(TaskState::Discarded))
        .order_by_asc(task::Column::Position)
        .all(db)
        .await?)
}
