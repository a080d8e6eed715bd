use sea_orm::entity::prelude::*;

/// One member's approval of an APPROVAL task.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub task_id: Uuid,
    pub user_id: Uuid,
    /// Set when the grant is of a tool call of the task rather than of an APPROVAL task.
    pub tool_call_id: Option<Uuid>,
    pub granted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
