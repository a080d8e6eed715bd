use sea_orm::entity::prelude::*;

use crate::enums::AgentKind;

/// An agent of a workspace: the system Planner and Composer, or a custom one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// PLANNER, COMPOSER or CUSTOM.
    pub kind: AgentKind,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub client_name: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when a custom agent is deleted; tasks keep referring to it.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
