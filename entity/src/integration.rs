use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

use crate::enums::{IntegrationKind, IntegrationStatus};

/// A workspace's connection to an outside service (one per provider).
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Lower-case name of the service, e.g. `google-drive`.
    pub provider: String,
    /// The granted scopes.
    pub scopes: JsonText<Vec<String>>,
    /// The access token (OAuth, or an MCP server's bearer token, empty when
    /// it needs none), sealed with `ATELYA_SECRET_KEY` (the row id as
    /// associated data); never returned by the API.
    pub sealed_access_token: Vec<u8>,
    pub sealed_refresh_token: Option<Vec<u8>>,
    pub connected_by: Option<Uuid>,
    /// OAUTH or MCP.
    pub kind: IntegrationKind,
    /// MCP: the server's Streamable HTTP endpoint.
    pub url: Option<String>,
    /// CONNECTED, or FAILING when the last attempt to reach it failed.
    pub status: IntegrationStatus,
    /// The last failure talking to it, without secrets.
    pub last_error: Option<String>,
    /// MCP: when its tools were last read.
    pub checked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Written by hand so that not even the sealed tokens reach a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
