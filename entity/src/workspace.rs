use sea_orm::entity::prelude::*;

use crate::enums::Plan;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub plan: Plan,
    /// Sum of the credit ledger, kept in step with it inside each ledger write.
    pub credit_balance: i64,
    /// Credits held by running tasks.
    pub credit_reserved: i64,
    /// Sequence number of the newest ledger entry.
    pub credit_seq: i64,
    /// Sequence number of the newest activity event.
    pub activity_seq: i64,
    /// Hash of the newest activity event: the anchor `verifyActivityLog` checks the chain against.
    pub activity_head: String,
    /// When billing periods are counted from: period n runs from anchor + n
    /// months to anchor + n + 1 months (a month-end anchor clamps, never drifts).
    pub billing_anchor: DateTimeUtc,
    /// Number of the current period, from 0 at the anchor.
    pub billing_period: i32,
    /// End of the current period, kept for the renewal job to find due workspaces.
    pub period_end: DateTimeUtc,
    /// Monthly credits granted in the current period so far.
    pub period_granted: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
