use sea_orm::entity::prelude::*;

use crate::enums::{WorkroomEventKind, WorkroomState};

/// One entry of a workroom's history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "workroom_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    /// Gap-free per workroom, from 1.
    pub seq: i64,
    pub kind: WorkroomEventKind,
    pub actor_id: Option<Uuid>,
    pub state: Option<WorkroomState>,
    pub task_id: Option<Uuid>,
    pub deliverable_id: Option<Uuid>,
    pub text: Option<String>,
    /// JSON text.
    pub data: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
