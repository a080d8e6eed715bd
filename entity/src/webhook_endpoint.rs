use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

/// An integrator's endpoint receiving a workspace's signed events.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// The event types it receives.
    pub events: JsonText<Vec<String>>,
    /// The current `whsec_` signing secret, sealed with `ATELYA_SECRET_KEY`
    /// (the row id as associated data); earlier ones are `webhook_secret`s.
    pub sealed_secret: Vec<u8>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Deliveries that failed for good in a row; reset by a success.
    pub consecutive_failures: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Written by hand so that neither the sealed secret nor the URL (often a
/// credential itself) reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
