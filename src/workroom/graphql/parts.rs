//! A workroom's parts as object types: its sources, its deliverables and the
//! entries of its history.

use async_graphql::{Context, Object, ID};
use chrono::{DateTime, Utc};
use entity::{deliverable, source, workroom_event};

use crate::graphql::{context::ContextExt, enums, int};
use crate::{
    export::graphql::Export,
    identity::graphql::{load_user, User},
    ids::{self, Kind},
};

pub struct Source(pub source::Model);

#[Object]
impl Source {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Source, self.0.id))
    }
    async fn kind(&self) -> enums::SourceKind {
        self.0.kind.into()
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Deliverable(pub deliverable::Model);

#[Object]
impl Deliverable {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Deliverable, self.0.id))
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// The composed output, Markdown; null until composed.
    async fn content(&self) -> Option<&str> {
        self.0.content.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Its exports, oldest first.
    async fn exports(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Export>> {
        let rows = ctx.loaders().exports().load_one(self.0.id).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Export).collect())
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One entry of a workroom's history. seq is gap-free and strictly increasing per workroom.
pub struct WorkroomEvent(pub workroom_event::Model);

#[Object]
impl WorkroomEvent {
    async fn seq(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.seq)?)
    }
    async fn workroom_id(&self) -> ID {
        ID(ids::encode(Kind::Workroom, self.0.workroom_id))
    }
    async fn kind(&self) -> enums::WorkroomEventKind {
        self.0.kind.into()
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn state(&self) -> Option<enums::WorkroomState> {
        self.0.state.map(Into::into)
    }
    async fn task_id(&self) -> Option<ID> {
        self.0.task_id.map(|id| ID(ids::encode(Kind::Task, id)))
    }
    async fn deliverable_id(&self) -> Option<ID> {
        self.0
            .deliverable_id
            .map(|id| ID(ids::encode(Kind::Deliverable, id)))
    }
    /// Message body, or the text a COMPOSER_DELTA appends to its deliverable (COMPOSER_RESET empties it).
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
    async fn data(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .map(async_graphql::Json)
    }
}
