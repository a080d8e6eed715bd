use sea_orm::entity::prelude::*;

/// An owner's or admin's choice for one tool of the workspace.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tool_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// The tool's name in the workspace.
    pub name: String,
    pub enabled: bool,
    /// Null: the default (every tool that is not read-only asks).
    pub requires_approval: Option<bool>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
