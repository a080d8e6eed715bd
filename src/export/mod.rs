//! The export profile that brands every export of a workspace.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use entity::export_profile;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(SimpleObject)]
pub struct ExportProfile {
    letterhead: String,
    /// #RRGGBB
    accent_color: String,
    contact_block: String,
    font: Option<String>,
    updated_at: DateTime<Utc>,
}

impl ExportProfile {
    pub async fn load(db: &impl ConnectionTrait, workspace_id: Uuid) -> AppResult<ExportProfile> {
        let row = export_profile::Entity::find_by_id(workspace_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("export profile"))?;
        Ok(ExportProfile {
            letterhead: row.letterhead,
            accent_color: row.accent_color,
            contact_block: row.contact_block,
            font: row.font,
            updated_at: row.updated_at,
        })
    }
}
