use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub to_email: String,
    pub subject: String,
    /// The text, with [`SECRET_PLACEHOLDER`] where the secret goes; emptied
    /// once the message is delivered.
    pub body: String,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// When the next attempt is due; a dispatcher pushes it forward to claim the message.
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    /// The message's secret (an invitation token), sealed with the server's
    /// key and this row's id; dropped once delivered or given up on.
    pub sealed_secret: Option<Vec<u8>>,
}

/// Where a message's secret is written into its body, at send time only.
pub const SECRET_PLACEHOLDER: &str = "{{secret}}";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
