//! The `Workroom` type, its parts, and the workroom queries and mutations.

use async_graphql::{connection::Connection, Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::{deliverable, source, workroom, workroom_event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    events::{self, WorkroomEventKind},
    model::{allowed_actions, SourceKind, WorkroomAction, WorkroomState},
};
use crate::graphql::int;
use crate::{
    activity::{graphql::ActivityEvent, service::ActivityQuery},
    agent::graphql::Agent,
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        pagination::{self, PageArgs},
    },
    identity::graphql::{load_user, User},
    ids::{self, Kind},
    member::Role,
    task::graphql::Task,
};

pub struct Workroom(pub workroom::Model);

#[derive(SimpleObject)]
pub struct ApprovalPolicy {
    required_role: Role,
    required_approvals: i32,
}

#[derive(SimpleObject)]
pub struct Constraints {
    deadline: Option<DateTime<Utc>>,
    max_credits: Option<i32>,
    paste_flags: Vec<String>,
    /// When set, the plan holds an approval task before composing.
    approval: Option<ApprovalPolicy>,
}

/// Events a page holds by default, and at most.
/// The history's page size when `first` is not given, and its largest.
pub const EVENTS_DEFAULT: i32 = 100;
pub const EVENTS_MAX: i32 = 1_000;

#[Object]
impl Workroom {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Workroom, self.0.id))
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn goal(&self) -> &str {
        &self.0.goal
    }
    async fn state(&self) -> async_graphql::Result<WorkroomState> {
        Ok(WorkroomState::parse(&self.0.state)?)
    }
    /// Why it is paused or failed, e.g. INSUFFICIENT_CREDITS, MAX_CREDITS_REACHED.
    async fn state_reason(&self) -> Option<&str> {
        self.0.state_reason.as_deref()
    }
    async fn constraints(&self) -> async_graphql::Result<Constraints> {
        let approval = match (&self.0.approval_role, self.0.approval_count) {
            (Some(role), Some(n)) => Some(ApprovalPolicy {
                required_role: Role::parse(role)?,
                required_approvals: n,
            }),
            _ => None,
        };
        Ok(Constraints {
            deadline: self.0.deadline,
            max_credits: self.0.max_credits.map(int).transpose()?,
            paste_flags: serde_json::from_str(&self.0.paste_flags).unwrap_or_default(),
            approval,
        })
    }
    async fn style_override(&self) -> Option<&str> {
        self.0.style_override.as_deref()
    }
    async fn sources(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Source>> {
        let rows = ctx.loaders().sources.load_one(self.0.id).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Source).collect())
    }
    async fn deliverables(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Deliverable>> {
        let rows = ctx
            .loaders()
            .deliverables
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Deliverable).collect())
    }
    async fn agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        let loaders = ctx.loaders();
        let links = loaders.workroom_agents.load_one(self.0.id).await?;
        let ids: Vec<_> = links
            .unwrap_or_default()
            .iter()
            .map(|l| l.agent_id)
            .collect();
        let mut agents = loaders.agents.load_many(ids.iter().copied()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| agents.remove(id))
            .map(Agent)
            .collect())
    }
    /// The current plan, in order.
    async fn tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Task>> {
        let rows = ctx
            .loaders()
            .plans
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Task).collect())
    }
    async fn credits_spent(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.credits_spent)?)
    }
    async fn credits_reserved(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.credits_reserved)?)
    }
    async fn revision_round(&self) -> i32 {
        self.0.revision_round
    }
    /// Sequence number of the newest event.
    async fn last_seq(&self) -> async_graphql::Result<i32> {
        Ok(int(self.0.last_seq)?)
    }
    /// The history, oldest first, after the given sequence number.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_seq: Option<i32>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<WorkroomEvent>> {
        let first = first.unwrap_or(EVENTS_DEFAULT);
        if !(0..=EVENTS_MAX).contains(&first) {
            return Err(
                AppError::bad_input(format!("first must be between 0 and {EVENTS_MAX}")).into(),
            );
        }
        let after = after_seq.unwrap_or(0).max(0) as i64;
        let rows = events::list(ctx.app().db.conn(), self.0.id, after, first as u64).await?;
        Ok(rows.into_iter().map(WorkroomEvent).collect())
    }
    async fn activity(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ActivityEvent>> {
        let page = PageArgs::parse(first, after)?;
        let filter = ActivityQuery {
            workroom_id: Some(ids::encode(Kind::Workroom, self.0.id)),
            ..Default::default()
        };
        let rows = crate::activity::service::list(
            ctx.app().db.conn(),
            self.0.workspace_id,
            &filter,
            &page,
        )
        .await?;
        Ok(pagination::connection(
            rows,
            &page,
            |e| e.seq,
            ActivityEvent,
        ))
    }
    /// Users watching this workroom live right now.
    async fn watchers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        crate::realtime::graphql::watchers_of(ctx, self.0.id).await
    }
    /// What the signed-in member may do to this workroom now, given its state and their role.
    async fn allowed_actions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<WorkroomAction>> {
        Ok(allowed_actions(
            WorkroomState::parse(&self.0.state)?,
            ctx.session()?.role,
        ))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Source(pub source::Model);

#[Object]
impl Source {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Source, self.0.id))
    }
    async fn kind(&self) -> async_graphql::Result<SourceKind> {
        Ok(SourceKind::parse(&self.0.kind)?)
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
    async fn kind(&self) -> async_graphql::Result<WorkroomEventKind> {
        Ok(WorkroomEventKind::parse(&self.0.kind)?)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn state(&self) -> async_graphql::Result<Option<WorkroomState>> {
        Ok(self
            .0
            .state
            .as_deref()
            .map(WorkroomState::parse)
            .transpose()?)
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

/// Finds a workroom of the caller's workspace; another workspace's is NOT_FOUND.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> AppResult<workroom::Model> {
    workroom::Entity::find_by_id(id)
        .filter(workroom::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("workroom"))
}
