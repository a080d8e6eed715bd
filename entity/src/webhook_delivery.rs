use sea_orm::entity::prelude::*;

use crate::enums::DeliveryState;

/// One event for one endpoint: the outbox row and its delivery log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: String,
    pub event_type: String,
    /// The JSON body, as it is signed and sent.
    pub payload: String,
    /// PENDING, SUCCEEDED or FAILED.
    pub state: DeliveryState,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_latency_ms: Option<i32>,
    /// The start of the last response's body, capped.
    pub last_response: Option<String>,
    pub last_attempt_at: Option<DateTimeUtc>,
    /// When a PENDING delivery is due; pushed forward while an instance sends it.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
