use sea_orm::entity::prelude::*;

use crate::action::ActivityAction;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "activity_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Position in the workspace's chain, from 1, gap-free.
    pub seq: i64,
    pub actor_id: Option<Uuid>,
    pub action: ActivityAction,
    pub target_type: String,
    /// The target's global id.
    pub target_id: Option<String>,
    pub summary: String,
    /// JSON text, kept byte for byte as it was hashed.
    pub metadata: String,
    pub occurred_at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
