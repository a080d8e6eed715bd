use sea_orm::entity::prelude::*;

use crate::enums::EntryKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credit_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Position in the workspace's ledger, from 1, gap-free.
    pub seq: i64,
    pub kind: EntryKind,
    /// Signed: grants and top-ups positive, charges negative.
    pub amount: i64,
    pub balance_after: i64,
    pub description: String,
    pub actor_id: Option<Uuid>,
    pub workroom_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    /// The agent whose work was charged.
    pub agent_id: Option<Uuid>,
    /// Unique per workspace when present: a repeated purchase returns the first entry.
    pub idempotency_key: Option<String>,
    /// Monthly grants only: the period and the allowance level the grant
    /// brings it to, unique per workspace, so no grant can be made twice.
    pub period_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
