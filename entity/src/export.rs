use sea_orm::entity::prelude::*;

use crate::enums::ExportFormat;

/// A deliverable rendered as a branded file (its bytes are an `export_file`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workroom_id: Uuid,
    pub deliverable_id: Uuid,
    /// The deliverable's version the file was rendered from.
    pub deliverable_version: i32,
    /// `MARKDOWN`, `DOCX` or `PDF`.
    pub format: ExportFormat,
    pub filename: String,
    pub content_type: String,
    pub byte_size: i64,
    /// Hex SHA-256 of the file, served as its ETag.
    pub sha256: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
