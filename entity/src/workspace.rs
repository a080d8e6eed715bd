use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub plan: String,
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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
