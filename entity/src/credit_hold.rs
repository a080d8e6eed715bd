use sea_orm::entity::prelude::*;

use crate::enums::HoldState;

/// Credits reserved for one attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    pub task_id: Option<Uuid>,
    /// One hold, and at most one charge, per task or planning attempt.
    pub attempt_key: String,
    pub amount: i64,
    /// HELD until settled, then SETTLED.
    pub state: HoldState,
    pub created_at: DateTimeUtc,
    pub settled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
