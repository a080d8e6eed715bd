use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

/// One version of an agent's style profile; the highest is the current one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "style_memory_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    /// From 1, gap-free per agent.
    pub version: i32,
    pub summary: String,
    /// The derived traits, an object.
    pub traits: JsonText<Json>,
    pub sample_count: i32,
    /// Why it changed, e.g. "sample added".
    pub reason: String,
    pub actor_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
