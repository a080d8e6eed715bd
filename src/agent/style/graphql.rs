//! `StyleMemory`, `StyleMemoryVersion` and `addStyleSample`.

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use entity::style_memory_version;

use crate::{
    graphql::context::ContextExt,
    identity::graphql::{load_user, User},
};

/// An agent's current profile, with every version before it.
pub struct StyleMemory(pub style_memory_version::Model);

#[Object]
impl StyleMemory {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn traits(&self) -> Json<&serde_json::Value> {
        Json(&self.0.traits)
    }
    async fn sample_count(&self) -> i32 {
        self.0.sample_count
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Newest first.
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StyleMemoryVersion>> {
        let rows =
            super::history(ctx.app().db.conn(), self.0.workspace_id, self.0.agent_id).await?;
        Ok(rows.into_iter().map(StyleMemoryVersion).collect())
    }
}

pub struct StyleMemoryVersion(pub style_memory_version::Model);

#[Object]
impl StyleMemoryVersion {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Why it changed, e.g. 'sample added'.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
