use sea_orm::entity::prelude::*;

use crate::json_text::JsonText;

/// One tool an MCP server listed (read at connect and on refresh).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integration_tools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub integration_id: Uuid,
    /// Its place in the server's list.
    pub position: i32,
    /// Its name on the server (the workspace calls it `<server>.<name>`).
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: JsonText<Json>,
    /// The server's `readOnlyHint`.
    pub read_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
