//! `ExportProfile` and `updateExportProfile`; `Export` and `exportDeliverable`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{export, export_profile};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    profile::{self, ProfileChange},
    service,
};
use crate::{
    auth::{Action, Allowed},
    error::AppResult,
    graphql::{
        context::{ContextExt, PublicBase},
        enums::ExportFormat,
        int,
    },
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

/// A deliverable rendered as a branded file.
pub struct Export(pub export::Model);

#[Object]
impl Export {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Export, self.0.id))
    }
    async fn format(&self) -> ExportFormat {
        self.0.format.into()
    }
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    async fn byte_size(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.byte_size)?)
    }
    /// GET with the same bearer token; each download is recorded in the activity log.
    async fn download_url(&self, ctx: &Context<'_>) -> String {
        let base = match ctx.data_opt::<PublicBase>() {
            Some(base) => base.0.clone(),
            None => PublicBase::configured(&ctx.app().config).0,
        };
        format!("{base}/exports/{}", ids::encode(Kind::Export, self.0.id))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

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

    /// Renders a composed deliverable as a file branded with the export
    /// profile. Members and up; viewers may download, not export.
    #[graphql(guard = "Allowed(Action::Work)")]
    async fn export_deliverable(
        &self,
        ctx: &Context<'_>,
        deliverable_id: ID,
        format: ExportFormat,
    ) -> async_graphql::Result<Export> {
        let id = ids::decode(Kind::Deliverable, &deliverable_id, "deliverable")?;
        Ok(Export(
            service::create(
                ctx.app(),
                ctx.session()?,
                ctx.client_ip(),
                id,
                format.into(),
            )
            .await?,
        ))
    }
}
