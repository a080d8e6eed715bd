//! The `Workroom` object type and its constraints.

use async_graphql::{connection::Connection, Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::workroom;

use super::{Deliverable, Source, WorkroomEvent, EVENTS_DEFAULT, EVENTS_MAX};
use crate::graphql::int;
use crate::{
    activity::{graphql::ActivityEvent, service::ActivityQuery},
    agent::graphql::Agent,
    error::AppError,
    graphql::{
        context::ContextExt,
        enums,
        pagination::{self, PageArgs},
    },
    identity::graphql::{load_user, User},
    ids::{self, Kind},
    task::graphql::Task,
    workroom::{
        events,
        model::{allowed_actions, WorkroomAction},
    },
};

pub struct Workroom(pub workroom::Model);

#[derive(SimpleObject)]
pub struct ApprovalPolicy {
    required_role: enums::Role,
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
    async fn state(&self) -> enums::WorkroomState {
        self.0.state.into()
    }
    /// Why it is paused or failed, e.g. INSUFFICIENT_CREDITS, MAX_CREDITS_REACHED.
    async fn state_reason(&self) -> Option<&str> {
        self.0.state_reason.as_deref()
    }
    async fn constraints(&self) -> async_graphql::Result<Constraints> {
        let approval = match (self.0.approval_role, self.0.approval_count) {
            (Some(role), Some(n)) => Some(ApprovalPolicy {
                required_role: role.into(),
                required_approvals: n,
            }),
            _ => None,
        };
        Ok(Constraints {
            deadline: self.0.deadline,
            max_credits: self.0.max_credits.map(int).transpose()?,
            paste_flags: self.0.paste_flags.0.clone(),
            approval,
        })
    }
    async fn style_override(&self) -> Option<&str> {
        self.0.style_override.as_deref()
    }
    async fn sources(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Source>> {
        let rows = ctx.loaders().sources().load_one(self.0.id).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Source).collect())
    }
    async fn deliverables(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Deliverable>> {
        let rows = ctx
            .loaders()
            .deliverables()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Deliverable).collect())
    }
    async fn agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        let loaders = ctx.loaders();
        let links = loaders.workroom_agents().load_one(self.0.id).await?;
        let ids: Vec<_> = links
            .unwrap_or_default()
            .iter()
            .map(|l| l.agent_id)
            .collect();
        let mut agents = loaders.agents().load_many(ids.iter().copied()).await?;
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
            .plans()
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
        let deliverables = ctx.loaders().deliverables().load_one(self.0.id).await?;
        let composed = deliverables
            .unwrap_or_default()
            .iter()
            .any(|d| d.content.is_some());
        Ok(allowed_actions(self.0.state, ctx.session()?.role, composed))
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
