//! `ExportProfile` and `updateExportProfile`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::export_profile;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::profile::{self, ProfileChange};
use crate::{
    auth::{Action, Allowed},
    error::AppResult,
    graphql::context::ContextExt,
};

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
        Ok(ExportProfile::from(profile::load(db, workspace_id).await?))
    }
}

impl From<export_profile::Model> for ExportProfile {
    fn from(row: export_profile::Model) -> ExportProfile {
        ExportProfile {
            letterhead: row.letterhead,
            accent_color: row.accent_color,
            contact_block: row.contact_block,
            font: row.font,
            updated_at: row.updated_at,
        }
    }
}

/// Fields left out stay as they are; `font: null` clears the font.
#[derive(InputObject)]
pub struct ExportProfileInput {
    letterhead: Option<String>,
    accent_color: Option<String>,
    contact_block: Option<String>,
    font: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct ExportMutation;

#[Object]
impl ExportMutation {
    /// Owner and admin only.
    #[graphql(guard = "Allowed(Action::ManageWorkspace)")]
    async fn update_export_profile(
        &self,
        ctx: &Context<'_>,
        input: ExportProfileInput,
    ) -> async_graphql::Result<ExportProfile> {
        let change = ProfileChange {
            letterhead: input.letterhead,
            accent_color: input.accent_color,
            contact_block: input.contact_block,
            font: match input.font {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(font) => Some(Some(font)),
            },
        };
        let row = profile::update(ctx.app(), ctx.session()?, change).await?;
        Ok(ExportProfile::from(row))
    }
}
